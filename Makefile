# The README's two commands: `make demo` (the main job end to end on the
# bundled data) and `make test` (the whole suite). Both create .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test bench docs reference clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# an editable install compiles nothing: byte-compile once, so that no command start
	# compiles the toolkit's sources again (where Python is told not to keep what it compiles)
	$(BIN)/python -m compileall -q toolkit
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/toolkit demo --out outputs/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

docs: $(STAMP)
	$(BIN)/python docs/render_pictures.py

reference: $(STAMP)
	$(BIN)/python -m toolkit.cli.reference README.md

clean:
	rm -rf $(VENV) outputs/demo
