# medallion: one-command setup for a fresh machine with Python 3.10+ and Java 17.
#   make demo   set up .venv, then run the e-commerce demo on local Spark + Delta
#   make test   set up .venv, then run the whole test suite
# Spark fetches Delta's jars from Maven Central on first use (cached in ~/.ivy2*). Without
# access to it, run `make jars` where Maven can reach a repository, and set
# MEDALLION_JARS_DIR=$(PWD)/jars.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.medallion-installed

DATA ?= data/landing
ROOT ?= lakehouse
TRANSACTIONS ?= 20000
PIPELINE := examples.ecommerce.pipeline
RUN := $(VENV)/bin/medallion run $(PIPELINE) --root $(ROOT) --param landing=$(DATA)
KAFKA ?= 127.0.0.1:9092
TOPIC ?= transactions

.PHONY: setup chromium demo test lint jars clean report-screenshot delta-features generate-data ingest-bronze \
	process-silver process-gold run-pipeline benchmark kafka-broker kafka-producer \
	streaming-consumer

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(PY) -m examples.ecommerce.demo

# Debian's headless Chromium, for the run report's browser test (needs root or sudo once).
chromium:
	@test -x /usr/bin/chromium || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: setup chromium
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy --strict src examples benchmarks
	$(VENV)/bin/lint-imports

jars: setup
	$(VENV)/bin/medallion jars fetch --dest jars

clean:
	rm -rf lakehouse data spark-warehouse metastore_db derby.log

# The original project's targets, as thin calls of the medallion command.
generate-data: setup
	$(PY) -m examples.ecommerce.generator --out $(DATA) --transactions $(TRANSACTIONS)

ingest-bronze: setup
	$(RUN) --select 'bronze.*' --no-downstream

process-silver: setup
	$(RUN) --select 'silver.*' --no-downstream

process-gold: setup
	$(RUN) --select 'gold.*' --no-downstream

run-pipeline: setup
	$(RUN)

# Streaming: a local Kafka broker (no Docker), the producer, and the consumer into bronze/silver.
kafka-broker: setup
	scripts/kafka-broker --port $(lastword $(subst :, ,$(KAFKA)))

kafka-producer: setup
	$(PY) -m examples.ecommerce.producer --bootstrap-servers $(KAFKA) --topic $(TOPIC) \
		--count 20000 --rate 500 --malformed-share 0.01 --late-share 0.01

streaming-consumer: setup
	$(PY) -m examples.ecommerce.streaming --bootstrap-servers $(KAFKA) --topic $(TOPIC) \
		--root $(ROOT)

report-screenshot: setup chromium
	scripts/report-screenshot

benchmark: setup
	$(PY) -m benchmarks.pipeline_benchmark

delta-features: setup
	$(PY) -m examples.ecommerce.delta_features
