# posenet_ros: set-up, demo, tests and benchmarks on a machine that has only Debian's
# python3 (+venv, pip), node/npm and a C/C++ compiler. ROS 2 comes from PyPI wheels into a
# venv; the package (messages + Python code) is built by colcon into install/ at the repo root.
#
#   make demo      run the node on vtest.avi over DDS            (does `make setup` first)
#   make test      run every test                                 (does `make setup` first)
#   make test-fast run the unit tests (no models, no processes): under a minute
#   make setup     venv + pinned wheels, colcon build, ONNX models, sample data
#   make GPU=1 setup   the same with onnxruntime-gpu (CUDA 13) in place of the CPU onnxruntime
#   make onnxruntime   only switch the venv's ONNX Runtime (GPU=1: GPU, GPU=0: back to CPU)
#   make build     only the venv and the colcon build (after editing code or messages)
#   make bench     benchmark against the TF.js reference
#   make clean     remove the colcon build (build/ install/ log/); `distclean` also the venv
#                  (downloads, models and data stay in $POSENET_ROS_HOME)
#
# Every step leaves a stamp file whose name carries a hash of the step's inputs, so running a
# target again redoes only the steps whose inputs changed.
#
# Variables (command line or environment):
#   POSENET_ROS_HOME  models, weights, sample data, downloads (default ~/.cache/posenet_ros)
#   ROS_DISTRO        kilted (default) or jazzy: which PyPI ROS wheels (requirements/*.txt)
#   PYTHON            interpreter for the venv (default python3.11: the ROS wheels are cp311)
#   PYTEST_ARGS       extra pytest arguments for `make test`, e.g. PYTEST_ARGS="-k codec -x"
#   CONVERT_ARGS      extra arguments of `posenet-ros convert` in setup, e.g. --int8
#   GPU               1: onnxruntime-gpu + CUDA 13/cuDNN 9 wheels (requirements/gpu.txt); 0
#                     (default): the CPU onnxruntime. Not guessed from the machine: say which.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3.11
POSENET_ROS_HOME ?= $(HOME)/.cache/posenet_ros
override POSENET_ROS_HOME := $(abspath $(POSENET_ROS_HOME))
export POSENET_ROS_HOME

# A sourced ROS install sets ROS_DISTRO too (e.g. humble); this Makefile only knows the
# distros it has wheel locks for. In a ROS install, build with colcon instead (README).
ROS_DISTRO ?= kilted
GPU ?= 0
ifeq ($(filter 0 1,$(GPU)),)
$(error GPU=$(GPU): pass GPU=1 (onnxruntime-gpu, CUDA 13) or GPU=0 (CPU onnxruntime))
endif
ifeq ($(wildcard requirements/$(ROS_DISTRO).txt),)
$(error ROS_DISTRO=$(ROS_DISTRO): no requirements/$(ROS_DISTRO).txt. This Makefile installs ROS 2 \
  from PyPI wheels for kilted or jazzy only; pass ROS_DISTRO=kilted, or build in your ROS \
  workspace with colcon (README, "Build and setup"))
endif

# Kilted is the default and lives at the repo root (.venv/, build/, install/, log/); another
# distro gets its own venv with its colcon workspace inside, so the two never mix.
ifeq ($(ROS_DISTRO),kilted)
VENV := .venv
WS := .
else
VENV := .venv-$(ROS_DISTRO)
WS := $(VENV)/ws
endif
INSTALL_DIR := $(WS)/install
export POSENET_ROS_VENV := $(abspath $(VENV))
export POSENET_ROS_INSTALL := $(abspath $(INSTALL_DIR))
# Runs a command with the ROS wheels' environment and our install space sourced.
IN_ROS_ENV := tools/ros_env.sh

# $(call hash,FILES[,WORDS]): 12 hex digits over the files' names and contents (and WORDS),
# for stamp names.
hash = $(shell { sha256sum $(sort $(1)) /dev/null; echo '$(2)'; } | sha256sum | cut -c1-12)
# $(call missing,FILES): non-empty when one of FILES does not exist (forces a stamped step).
missing = $(filter-out $(wildcard $(1)),$(1))

# --- Python venv with every package pinned and hash-checked ---------------------------------
# The locks (requirements/*.txt) come from tools/lock_requirements.py; setup.py is installed
# editable so `posenet-ros` works from the venv without ROS.
VENV_STAMP := $(VENV)/.stamp-venv-$(call hash,requirements/pip.txt requirements/$(ROS_DISTRO).txt setup.py setup.cfg)
TEST_STAMP := $(VENV)/.stamp-test-$(call hash,requirements/test.txt requirements/fleet.txt)
PIP := $(VENV)/bin/python -m pip --quiet --disable-pip-version-check

$(VENV_STAMP):
	@echo "==> venv $(VENV): pinned packages for ROS 2 $(ROS_DISTRO)"
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (the ROS wheels are \
	  for CPython 3.11): apt-get install python3 python3-venv, or pass PYTHON=..." >&2; exit 1; }
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --require-hashes -r requirements/pip.txt
	$(PIP) install --require-hashes -r requirements/$(ROS_DISTRO).txt
	@# No build isolation: setuptools is pinned in the lock, and nothing else is fetched.
	$(PIP) install --no-deps --no-build-isolation --editable .
	rm -f $(VENV)/.stamp-venv-*
	touch $@

# --- ONNX Runtime: CPU (onnxruntime, in the distro lock) or GPU=1 (onnxruntime-gpu) ---------
# The two install the same module `onnxruntime`, so one is removed before the other goes in
# and a venv switches back and forth; the stamp names the flavour. Keyed on the venv stamp
# too: the venv step (re)installs the CPU one.
ORT_STAMP := $(VENV)/.stamp-ort-$(call hash,requirements/gpu.txt,GPU=$(GPU) $(VENV_STAMP))

$(ORT_STAMP): $(VENV_STAMP)
ifeq ($(GPU),1)
	@echo "==> onnxruntime-gpu (CUDA 13, cuDNN 9 wheels) in $(VENV), replacing the CPU onnxruntime"
	$(PIP) uninstall --yes onnxruntime onnxruntime-gpu
	$(PIP) install --require-hashes -r requirements/gpu.txt
else
	@if $(PIP) show onnxruntime-gpu >/dev/null 2>&1; then \
	  echo "==> CPU onnxruntime in $(VENV), replacing onnxruntime-gpu"; \
	  $(PIP) uninstall --yes onnxruntime onnxruntime-gpu; fi
	$(PIP) install --require-hashes -r requirements/$(ROS_DISTRO).txt
endif
	rm -f $(VENV)/.stamp-ort-*
	touch $@

$(TEST_STAMP): $(VENV_STAMP)
	@echo "==> test tools (pytest, ament_flake8, ament_pep257)"
	$(PIP) install --require-hashes -r requirements/test.txt
	$(PIP) install --require-hashes -r requirements/fleet.txt
	rm -f $(VENV)/.stamp-test-*
	touch $@

# --- colcon build of the package (messages + Python code) into $(INSTALL_DIR) ---------------
# Tests and the demo run the installed copy, so any change to a file that gets installed
# triggers a rebuild (incremental: a few seconds).
BUILD_INPUTS := $(shell find CMakeLists.txt package.xml resource msg launch config posenet_ros \
  tools/node_wrapper.py.in -type f -not -path '*/node_modules/*' -not -path '*/__pycache__/*' \
  -not -name '*.pyc' 2>/dev/null)
BUILD_STAMP := $(INSTALL_DIR)/.stamp-build-$(call hash,$(BUILD_INPUTS),$(VENV_STAMP))
COLCON_CMAKE_ARGS := -DBUILD_TESTING=OFF -DPython3_EXECUTABLE=$(abspath $(VENV))/bin/python3 \
  -DPython3_NumPy_INCLUDE_DIR=/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include

# --- interface packages the wheels lack (foxglove_msgs, hri_msgs, tf2_msgs) -----------------
# interfaces/<pkg> are minimal stand-ins with upstream's type hashes (docs/ros-interop.md),
# built into the same install space only when no prefix on AMENT_PREFIX_PATH has the real
# package; a stand-in left from an earlier build is removed once the real one is found.
# Our own install space and venv do not count (a shell that sourced them has them there).
INTERFACE_PKGS := $(patsubst interfaces/%/package.xml,%,$(wildcard interfaces/*/package.xml))
_space := $(subst x, ,x)
OTHER_PREFIXES := $(subst $(_space),:,$(strip $(filter-out $(abspath $(INSTALL_DIR))/% \
  $(abspath $(VENV)),$(subst :, ,$(AMENT_PREFIX_PATH)))))
INTERFACES_STAMP := $(INSTALL_DIR)/.stamp-interfaces-$(call hash,$(wildcard interfaces/*/*.txt \
  interfaces/*/*.xml interfaces/*/msg/*.msg),$(VENV_STAMP) $(OTHER_PREFIXES))

$(INTERFACES_STAMP): $(VENV_STAMP) | $(ORT_STAMP)
	tools/fix_wheel_paths.sh $(VENV)/bin/python
	@missing=; for pkg in $(INTERFACE_PKGS); do \
	  if AMENT_PREFIX_PATH=$(OTHER_PREFIXES) POSENET_ROS_INSTALL= $(IN_ROS_ENV) python -c 'import sys; \
	    from ament_index_python import get_package_prefix as p; p(sys.argv[1])' $$pkg \
	    2>/dev/null; then rm -rf $(INSTALL_DIR)/$$pkg $(WS)/build/$$pkg; \
	  else missing="$$missing interfaces/$$pkg"; fi; done; \
	if [ -n "$$missing" ]; then \
	  echo "==> colcon build of stand-in interfaces ($$missing) -> $(INSTALL_DIR)"; \
	  POSENET_ROS_INSTALL= $(IN_ROS_ENV) colcon --log-base $(WS)/log build \
	    --build-base $(WS)/build --install-base $(INSTALL_DIR) --paths $$missing \
	    --cmake-args $(COLCON_CMAKE_ARGS); fi
	rm -f $(INSTALL_DIR)/.stamp-interfaces-*
	touch $@

$(BUILD_STAMP): $(VENV_STAMP) | $(ORT_STAMP) $(INTERFACES_STAMP)
	@echo "==> colcon build -> $(INSTALL_DIR)"
	tools/fix_wheel_paths.sh $(VENV)/bin/python
	@# The wheels' CMake files would add the venv's numpy include dir, which lies inside this
	@# source tree, to exported targets (a CMake error); the /opt/python link points there too.
	@# Installing never deletes: a module moved or removed in the source would linger in the
	@# install space and still import. Its Python package is reinstalled whole each build.
	rm -rf $(INSTALL_DIR)/posenet_ros/lib/python3*/site-packages/posenet_ros
	@# POSENET_ROS_INSTALL= : build without our previous install sourced.
	POSENET_ROS_INSTALL= $(IN_ROS_ENV) colcon --log-base $(WS)/log build \
	  --build-base $(WS)/build --install-base $(INSTALL_DIR) \
	  --cmake-args $(COLCON_CMAKE_ARGS)
	rm -f $(INSTALL_DIR)/.stamp-build-*
	touch $@

# --- sample data: vtest.avi and stills from Debian's opencv-doc (pinned, SHA-256 checked) ---
DATA_FILES := $(foreach f,vtest.avi messi5.jpg basketball1.png basketball2.png,$(POSENET_ROS_HOME)/data/$(f))
DATA_STAMP := $(POSENET_ROS_HOME)/.stamps/data-$(call hash,tools/fetch_sample_data.sh)

$(DATA_STAMP): $(if $(call missing,$(DATA_FILES)),FORCE)
	@echo "==> sample data in $(POSENET_ROS_HOME)/data"
	tools/fetch_sample_data.sh $(POSENET_ROS_HOME)
	mkdir -p $(@D) && rm -f $(@D)/data-*
	touch $@

# --- ONNX models: `posenet-ros convert` fetches the weights (npm pack, integrity-checked) once
# and converts them. --int8 also builds the quantised models, calibrated on the sample video
# and kept only where they pass the accuracy guard against fp32 (CONVERT_ARGS= to skip).
CONVERT_ARGS ?= --int8
MODEL_FILES := $(foreach s,8 16 32,$(POSENET_ROS_HOME)/models/posenet-mobilenet075-stride$(s).onnx)
# What prepares int8 calibration inputs and judges the result (int8_build.CALIBRATION_CODE;
# the int8 models' keys hash it too, so an edit there rebuilds them; test_int8 compares both).
CALIBRATION_CODE := posenet_ros/quantize/*.py posenet_ros/families/posenet/preprocess.py \
  posenet_ros/families/posenet/calibration.py posenet_ros/families/movenet/*.py \
  posenet_ros/filters/*.py
MODELS_STAMP := $(POSENET_ROS_HOME)/.stamps/models-$(call hash,$(wildcard posenet_ros/convert/*.py $(CALIBRATION_CODE)) posenet_ros/core/paths.py posenet_ros/cli/main.py,$(CONVERT_ARGS))

$(MODELS_STAMP): $(BUILD_STAMP) $(DATA_STAMP) $(if $(call missing,$(MODEL_FILES)),FORCE)
	@echo "==> models in $(POSENET_ROS_HOME)/models"
	$(IN_ROS_ENV) posenet-ros convert $(CONVERT_ARGS)
	mkdir -p $(@D) && rm -f $(@D)/models-*
	touch $@

# --- the Node.js TF.js PoseNet 2.2.2 reference (parity tests and benchmarks) ----------------
# npm ci of the pinned, integrity-checked lock into $POSENET_ROS_HOME/reference, where
# posenet_ros.reference.runner looks first (outside the source tree, so colcon never
# installs node_modules). posenet 2.2.2 declares tfjs 3 as its peer; it runs on tfjs 4
# (--legacy-peer-deps). --ignore-scripts: no package runs install scripts (none needs one).
REF_SRC := posenet_ros/reference
REF_DIR := $(POSENET_ROS_HOME)/reference
REF_LOCK := $(wildcard $(REF_SRC)/package.json $(REF_SRC)/package-lock.json)
REF_STAMP := $(POSENET_ROS_HOME)/.stamps/reference-$(call hash,$(REF_LOCK))

$(REF_STAMP): $(if $(call missing,$(REF_DIR)/node_modules/@tensorflow-models/posenet/package.json),FORCE)
	@if [ -f $(REF_SRC)/package-lock.json ]; then \
	  echo "==> npm ci of the TF.js reference in $(REF_DIR)"; \
	  mkdir -p $(REF_DIR) $(@D); \
	  cp $(REF_SRC)/package.json $(REF_SRC)/package-lock.json $(REF_DIR)/; \
	  (cd $(REF_DIR) && npm ci --no-audit --no-fund --legacy-peer-deps --ignore-scripts); \
	  rm -f $(@D)/reference-*; touch $@; \
	else \
	  echo "notice: no $(REF_SRC)/package-lock.json yet: skipping the Node.js reference"; \
	fi

# --- onnxruntime-gpu's wheel, unpacked under $POSENET_ROS_HOME for test_gpu_fallback.py -----
# That test puts it on PYTHONPATH in place of a CPU venv's onnxruntime: its CUDA provider is
# listed but cannot start without the CUDA libraries and a GPU. Hash-checked; fetched once.
GPU_WHEEL_DIR := $(POSENET_ROS_HOME)/onnxruntime-gpu
GPU_WHEEL_STAMP := $(POSENET_ROS_HOME)/.stamps/onnxruntime-gpu-$(call hash,requirements/gpu.txt)

$(GPU_WHEEL_STAMP): $(if $(call missing,$(GPU_WHEEL_DIR)/onnxruntime/__init__.py),FORCE) \
  | $(VENV_STAMP)
	@echo "==> onnxruntime-gpu wheel (no CUDA libraries) in $(GPU_WHEEL_DIR), for the CPU-fallback test"
	mkdir -p $(POSENET_ROS_HOME)/downloads $(@D)
	grep -A1 '^onnxruntime-gpu==' requirements/gpu.txt > $(POSENET_ROS_HOME)/downloads/onnxruntime-gpu.txt
	rm -rf $(GPU_WHEEL_DIR)
	$(PIP) install --no-deps --require-hashes --target $(GPU_WHEEL_DIR) \
	  -r $(POSENET_ROS_HOME)/downloads/onnxruntime-gpu.txt
	rm -f $(@D)/onnxruntime-gpu-*
	touch $@

# --- what the README names -----------------------------------------------------------------
.PHONY: help setup build onnxruntime demo test test-fast bench clean distclean FORCE

help:
	@sed -n '2,/^$$/s/^# \{0,1\}//p' Makefile

setup: $(VENV_STAMP) $(ORT_STAMP) $(BUILD_STAMP) $(MODELS_STAMP) $(DATA_STAMP)
	@echo "setup done. A shell with ROS 2 $(ROS_DISTRO) and posenet_ros:" \
	  "$(if $(filter-out kilted,$(ROS_DISTRO)),POSENET_ROS_VENV=$(VENV) POSENET_ROS_INSTALL=$(INSTALL_DIR) )source tools/ros_env.sh"
	@if [ $(GPU) = 0 ] && command -v nvidia-smi >/dev/null; then echo 'notice: this machine' \
	  'has an NVIDIA driver: `make GPU=1 setup` installs onnxruntime-gpu (README, "GPU")'; fi

build: $(VENV_STAMP) $(ORT_STAMP) $(INTERFACES_STAMP) $(BUILD_STAMP)

onnxruntime: $(ORT_STAMP)

demo: setup
	$(IN_ROS_ENV) python -m posenet_ros.ros.tools.demo

# Each run gets its own DDS domain (unless ROS_DOMAIN_ID is set) so that nodes of another
# run on the same machine cannot cross-talk with the tests' nodes. ROS_PYTHON_CHECK_FIELDS=1:
# messages check every assignment, as Humble's always do (Jazzy and Kilted only on request;
# unchecked, a Pose with other than 17 keypoints crashes serialisation).
test: setup $(TEST_STAMP) $(REF_STAMP) $(GPU_WHEEL_STAMP)
	@rc=0; \
	ROS_DOMAIN_ID=$${ROS_DOMAIN_ID:-$$((RANDOM % 100 + 1))} ROS_PYTHON_CHECK_FIELDS=1 \
	  $(IN_ROS_ENV) python -m pytest -p no:cacheprovider $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5)" >&2; fi; \
	exit $$rc

# The unit tests only (test/conftest.py: no model files, no processes), without setup's
# models and references: the venv and the build are enough.
test-fast: build $(TEST_STAMP)
	$(IN_ROS_ENV) python -m pytest -p no:cacheprovider -m unit $(PYTEST_ARGS)

bench: setup $(REF_STAMP)
	$(IN_ROS_ENV) posenet-ros bench

clean:
	rm -rf $(WS)/build $(WS)/install $(WS)/log

distclean: clean
	rm -rf $(VENV)

FORCE:
