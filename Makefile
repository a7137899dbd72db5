# BIMS: the two commands a new machine needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAMPLE := data/sample
STAMP := $(VENV)/.installed

.PHONY: run test install classes sample refresh dashboard bench bench-dashboard bench-load clean

run: $(STAMP) classes sample refresh
	@echo; echo "P&L of the latest complete fiscal year (python -m queries run pnl):"
	@$(PY) -m queries run pnl
	@echo
	@$(PY) -m dashboard users demo
	@$(MAKE) --no-print-directory dashboard

# The dashboard on http://127.0.0.1:8050, in development mode unless BIMS_ENV
# says otherwise (production: gunicorn dashboard.app:server with BIMS_SECRET_KEY).
dashboard: $(STAMP)
	BIMS_ENV=$${BIMS_ENV:-development} $(PY) -m dashboard --host 127.0.0.1 --port 8050

test: $(STAMP) classes
	$(PY) -m pytest

install: $(STAMP)

# The virtualenv, rebuilt when the pinned requirements change.
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# The archive of the classes Spark loads (in ~/.cache/bims; one per pyspark install
# and Java build; those of removed installs are deleted, one Java no longer maps is
# built again): each Spark start then takes seconds less. Only time is at stake, so a
# failure is reported and ignored.
classes: $(STAMP)
	-@$(PY) -m etl archive-classes --if-missing

# The scale-1 sample dataset, written once (the marker shows it finished).
sample: $(STAMP)
	@test -f $(SAMPLE)/.complete || { rm -rf $(SAMPLE) && $(PY) -m etl generate --out $(SAMPLE) --scale 1 && touch $(SAMPLE)/.complete; }

refresh: $(STAMP)
	$(PY) -m etl refresh --source $(SAMPLE)

bench: $(STAMP) classes
	$(PY) bench/etl.py

bench-dashboard: $(STAMP)
	$(PY) bench/dashboard.py

bench-load: $(STAMP)
	$(PY) bench/load.py

clean:
	rm -rf data logs tests/output bench/output .pytest_cache
