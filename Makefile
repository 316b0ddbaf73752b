# The two commands a newcomer needs: `make run` and `make test`.
.PHONY: run test bootstrap bench clean

# PYTHON=/path/to/python3 builds .venv from that Python (default: Debian's /usr/bin/python3).
bootstrap:
	PYTHON="$(PYTHON)" bash scripts/bootstrap.sh

run: bootstrap
	.venv/bin/ccs demo

test: bootstrap
	.venv/bin/pytest

bench: bootstrap
	.venv/bin/python -m benchmarks

clean:
	.venv/bin/ccs local stop || true
	rm -rf .data
