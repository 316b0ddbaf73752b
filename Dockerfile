# The contact-center server. The Vosk model is not baked in: mount it at /models/vosk
# (CCS_SPEECH__MODEL_PATH) so the Russian production model can be swapped without a rebuild.

# The web pages, built from web/ with the lock file (Node 18, as Debian 12 ships).
FROM node:18-bookworm-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci
COPY web ./
RUN npm run build

FROM python:3.11-slim-bookworm
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ccs ccs
COPY cti cti
COPY ivr ivr
COPY speech speech
COPY state state
COPY agent_api agent_api
COPY features features
COPY campaigns campaigns
RUN pip install --no-cache-dir .
COPY --from=web /web/dist /app/web/dist
ENV CCS_HTTP__WEB_DIST=/app/web/dist
USER nobody
EXPOSE 8080 4573 9092
CMD ["ccs", "serve"]
