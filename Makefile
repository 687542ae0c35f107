# Trợ lý số. A new user needs two commands: `make run` and `make test`.
# Both create the virtual environment, install what is needed, compile the
# catalogs and train the NLU model when it is missing or older than its data.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
MODEL := nlu/models/model.pkl
NLU_SOURCES := $(shell find nlu -name '*.py' -o -name '*.yml' 2>/dev/null | grep -v '^nlu/models') \
               $(wildcard communes/*/villages.yml)
PO_FILES := $(wildcard locales/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test test-fast lint chat stats venv dev locales model browser fonts bench clean

# The runtime (requirements.txt) for run/chat/stats; tests and lint add requirements-dev.txt.
$(BIN)/.installed: requirements.txt
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

dev: $(BIN)/.installed-dev

$(MO_FILES) &: $(PO_FILES) $(BIN)/.installed
	$(PYTHON) -m bot.i18n compile

locales: $(MO_FILES)

$(MODEL): $(BIN)/.installed $(NLU_SOURCES)
	$(PYTHON) -m nlu train

model: $(MODEL)

# The browser tests drive Debian's Chromium (Playwright is pointed at it; nothing is downloaded).
browser:
	@test -x $(CHROMIUM) || { echo "installing Chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "could not install Chromium (the browser tests need it: apt-get install chromium)"; }

# The posters (python -m bot posters) print with a TrueType font that has the Vietnamese letters.
fonts:
	@test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || { echo "installing DejaVu fonts for the posters"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core >/dev/null) \
	  || echo "could not install fonts-dejavu-core (the posters need a font with Vietnamese letters)"; }

run: venv locales model
	$(PYTHON) -m bot run

chat: venv locales model
	$(PYTHON) -m bot chat

stats: venv locales model
	$(PYTHON) -m bot stats

# The suite runs in worker processes (pytest-xdist). The end-to-end tests mostly wait (platform pace, real
# processes), so `make test` runs more workers than the 2 cores; the few tests marked `timing` (latency or a
# hand-over in wall-clock time, real leases) then run alone, so a busy machine never fails them. Costly fixtures
# are shared between workers through the run's temporary folder (xdist_group is not honoured with pytest 9:
# pytest-xdist issue 1386).
TEST_WORKERS ?= 4
FAST_WORKERS ?= 2

test: dev locales model browser fonts
	$(PYTHON) -m pytest -q -n $(TEST_WORKERS) -m "not rasa and not timing"
	$(PYTHON) -m pytest -q -m "timing and not rasa"

# The logic without the end-to-end runs and the browser (under a minute).
test-fast: dev locales model fonts
	$(PYTHON) -m pytest -q -n $(FAST_WORKERS) -m "not slow and not browser and not rasa and not timing"

# Style and types (ruff, mypy) and the floors' import contract (import-linter, pyproject.toml).
lint: dev
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: venv locales model
	$(PYTHON) bench/pipeline.py
	$(PYTHON) bench/zalo.py
	$(PYTHON) bench/workers.py

clean:
	rm -rf $(VENV) var nlu/models locales/*/LC_MESSAGES/*.mo

-include rasa/rasa.mk
