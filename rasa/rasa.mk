# Rasa Open Source as a second NLU backend (included by the Makefile).
#   make rasa        separate Python 3.10 environment, install Rasa, validate and train on
#                    nlu/data/, then serve `rasa run --enable-api` on 127.0.0.1:$(RASA_PORT)
#                    (in another terminal: NLU_BACKEND=rasa make run)
#   make rasa-model  only install, validate and train
#   make test-rasa   the tests that talk to a real Rasa server (the test run starts one)
#   make bench-nlu   both backends side by side on nlu/eval/heldout.jsonl
RASA_PY ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.10*/bin/python) $(shell command -v python3.10))
RASA_VENV := rasa/.venv
RASA_BIN := $(RASA_VENV)/bin
RASA_PORT ?= 5005
RASA_MODEL := rasa/models/nlu.tar.gz
RASA_DOMAIN := rasa/models/domain.yml
RASA_DATA := $(shell find nlu/data -name '*.yml' 2>/dev/null)
# No telemetry (tests and commune machines stay off the internet), quiet TensorFlow.
RASA_ENV := RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1

.PHONY: rasa rasa-venv rasa-model rasa-validate test-rasa bench-nlu clean-rasa

$(RASA_BIN)/.installed: rasa/requirements.txt
	@test -n "$(RASA_PY)" || { echo "Rasa 3.6 needs Python 3.10 (pyenv install 3.10.13, or set RASA_PY=...)"; exit 1; }
	test -x $(RASA_BIN)/python || $(RASA_PY) -m venv $(RASA_VENV)
	$(RASA_BIN)/pip install --quiet -r rasa/requirements.txt
	touch $@

rasa-venv: $(RASA_BIN)/.installed

$(RASA_DOMAIN): $(RASA_BIN)/.installed rasa/domain.py $(RASA_DATA)
	$(RASA_ENV) $(RASA_BIN)/python rasa/domain.py nlu/data $@

rasa-validate: $(RASA_DOMAIN)
	$(RASA_ENV) $(RASA_BIN)/rasa data validate --data nlu/data --domain $(RASA_DOMAIN) \
	  --config rasa/config.yml --fail-on-warnings

# Validation runs first: a model is never trained from data Rasa rejects.
$(RASA_MODEL): $(RASA_BIN)/.installed rasa/config.yml $(RASA_DATA) | $(RASA_DOMAIN)
	$(MAKE) --no-print-directory rasa-validate
	$(RASA_ENV) $(RASA_BIN)/rasa train nlu --nlu nlu/data --config rasa/config.yml \
	  --out rasa/models --fixed-model-name nlu

rasa-model: $(RASA_MODEL)

rasa: $(RASA_MODEL)
	@echo "Rasa serving on http://127.0.0.1:$(RASA_PORT) (NLU_BACKEND=rasa make run in another terminal)"
	$(RASA_ENV) exec $(RASA_BIN)/rasa run --enable-api --model $(RASA_MODEL) \
	  --interface 127.0.0.1 --port $(RASA_PORT)

test-rasa: dev locales model $(RASA_MODEL)
	$(PYTHON) -m pytest -q -m rasa

bench-nlu: venv model $(RASA_MODEL)
	$(PYTHON) bench/nlu_compare.py

clean-rasa:
	rm -rf $(RASA_VENV) rasa/models
