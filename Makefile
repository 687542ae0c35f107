# Trợ lý số: the two commands a new user needs are `make run` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
MODEL := nlu/models/model.pkl
NLU_DATA := $(shell find nlu/data -name '*.yml' 2>/dev/null)

.PHONY: run test venv locales model chat clean

$(BIN)/.installed: requirements.txt
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

venv: $(BIN)/.installed

locales: venv
	$(PYTHON) -m bot.i18n compile

$(MODEL): $(BIN)/.installed $(NLU_DATA)
	$(PYTHON) -m nlu train

model: $(MODEL)

run: venv locales model
	$(PYTHON) -m bot run

chat: venv locales model
	$(PYTHON) -m bot chat

test: venv locales model
	$(PYTHON) -m pytest -q

clean:
	rm -rf $(VENV) var nlu/models
