# The contact-center server. The Vosk model is not baked in: mount it at /models/vosk
# (CCS_SPEECH__MODEL_PATH) so the Russian production model can be swapped without a rebuild.
FROM python:3.11-slim-bookworm
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ccs ccs
COPY cti cti
COPY ivr ivr
COPY speech speech
COPY state state
COPY agent_api agent_api
COPY campaigns campaigns
RUN pip install --no-cache-dir .
USER nobody
EXPOSE 8080 4573 9092
CMD ["ccs", "serve"]
