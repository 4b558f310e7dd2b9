# gan_kit: two commands set up a fresh machine.
#   make install   create .venv/ with the pinned, tested requirements and gan_kit in editable mode
#   make demo      train the demo GAN on MNIST (about five minutes on a 2-core CPU)
#   make test      run the test suite and the notebooks in smoke mode (no network needed), the
#                  teacher's edition and the student's (tests/test_exercises.py)
#   make student   write the student edition of the notebooks (solutions removed) to build/student/
#   make site      build the course website into build/site/ (make install-site first)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

# Offline machines: a folder with the original MNIST / Fashion-MNIST IDX files
# (mnist/ and fashion_mnist/ inside). Defaults to ../shared/data when it exists.
GAN_KIT_RAW_DATA ?= $(abspath $(firstword $(wildcard ../shared/data)))
export GAN_KIT_RAW_DATA
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install install-site test student site test-site demo data notebooks bench bench-quality lint clean

install:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .

# The website's tools, on top of `make install`; the browser test also needs Debian's
# chromium and chromium-driver (apt-get install -y chromium chromium-driver).
install-site:
	$(PY) -m pip install --quiet -r requirements-site.txt

test:
	$(PY) -m pytest -q

# The student edition: the committed notebooks are the teacher's; cells tagged `solution` are
# removed (nbconvert's TagRemovePreprocessor) and the check cells' outputs cleared.
STUDENT_DIR ?= build/student
student:
	$(PY) -m gan_kit.exercises $(STUDENT_DIR) $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))

# The course website from the committed notebooks' stored outputs (nothing is executed).
site:
	$(PY) -m mkdocs build --quiet

# Serve build/site on localhost and check every page in headless Chromium; screenshots and a
# report go to build/site-test/.
test-site: site
	$(PY) -m pytest -q tests/site

demo:
	$(PY) -m gan_kit train --preset demo --out runs/demo --overwrite

# Re-execute the course notebooks in place (quick mode unless GAN_KIT_MODE is set) and print
# each one's wall time; NOTEBOOKS=notebooks/04_dcgan.ipynb runs just one. Exercise checks are
# strict: a solution that does not pass stops the run.
NOTEBOOKS ?= $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
notebooks:
	@for nb in $(NOTEBOOKS); do \
		start=$$(date +%s); \
		GAN_KIT_MODE=$${GAN_KIT_MODE:-quick} GAN_KIT_CHECKS=strict $(VENV)/bin/jupyter nbconvert --to notebook --execute \
			--inplace --ExecutePreprocessor.timeout=3600 $$nb || exit 1; \
		echo "$$nb: $$(( $$(date +%s) - start )) s"; \
	done

# Training speed against the TF tutorial loop and a keras.io fit step (about 15 minutes).
bench:
	$(PY) bench/bench.py --out bench/results.md

# Time to quality, side by side: the TF tutorial's and keras.io's DCGAN recipes and the kit's
# presets, each trained for 5 minutes and scored every 30 s (about 25 minutes; run it alone).
bench-quality:
	$(PY) bench/time_to_quality.py --kit-presets demo --every-seconds 60 --out bench/time_to_quality.md

data:
	$(PY) -m gan_kit data mnist fashion_mnist

lint:
	$(VENV)/bin/ruff check gan_kit tests bench
	$(VENV)/bin/ruff format --check gan_kit tests bench

clean:
	rm -rf runs .pytest_cache build
