# The two commands a newcomer needs: `make run` and `make test`.
.PHONY: run test bootstrap bench clean

bootstrap:
	bash scripts/bootstrap.sh

run: bootstrap
	.venv/bin/ccs demo

test: bootstrap
	.venv/bin/pytest

bench: bootstrap
	.venv/bin/python -m benchmarks

clean:
	.venv/bin/ccs local stop || true
	rm -rf .data
