# The two commands a newcomer needs are `make demo` and `make test`; each sets up the
# workspace first (idempotent: a second run only rebuilds what changed).
SHELL := /bin/bash
IN_ENV := scripts/in_env

.PHONY: setup build demo demo-state demo-cameras test test-package test-integration bench bench-learning run-bench bench-peers lerobot-env lint clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

setup:  ## create .venv with pinned dependencies and colcon build the workspace
	@scripts/setup.sh

build: setup  ## alias of setup

demo: setup  ## HIL-SERL from pixels on the simulated arm's pick-lift: the classifier's reward, cameras + joints only (~35 min)
	$(IN_ENV) hilserl demo --policy-inputs images --reward classifier --run-dir demo_run

demo-state: setup  ## the same task learned from the simulator's state (cube position) and its ground-truth reward
	$(IN_ENV) hilserl demo --run-dir demo_state_run

demo-cameras: setup  ## run the camera demo mode for 15 s and show what it publishes
	$(IN_ENV) hilserl launch demo duration:=15 preview_dir:=demo_output

test: setup  ## colcon test (package tests and lint), then the integration tests
	@# LeRobot's venv (.venv-peers, for the LeRobotDataset round trip) is made meanwhile; where
	@# it cannot be, those tests skip and say why.
	@mkdir -p log; scripts/peers_venv.sh --venv-only > log/lerobot-env.log 2>&1 & lerobot=$$!; \
	$(MAKE) --no-print-directory test-package || { wait $$lerobot; exit 1; }; \
	wait $$lerobot || echo "[test] .venv-peers not made (see log/lerobot-env.log): the" \
	  "LeRobotDataset round-trip tests will skip"; \
	$(MAKE) --no-print-directory test-integration

test-package:  ## package unit tests and flake8/pep257 through colcon test
	$(IN_ENV) colcon --log-base log test --base-paths src --event-handlers console_direct- \
	  --pytest-args -q -p no:cacheprovider
	$(IN_ENV) colcon --log-base log test-result --verbose

test-integration:  ## real nodes in separate processes over DDS (tests/)
	$(IN_ENV) python -m pytest tests

# The learning-curve runs (many minutes each) and LeRobot's side by side have targets of their
# own; `make bench` is every other benchmark, short enough to run after every change.
BENCH_LEARNING := bench/sample_efficiency.py bench/gym_tasks.py bench/encoder_probe.py \
                  bench/image_pooling.py
BENCH_SPEED := $(filter-out bench/peers.py $(BENCH_LEARNING),$(wildcard bench/*.py))

bench: setup  ## run the speed benchmarks under bench/ (~15 min), print key: value
	@$(MAKE) --no-print-directory run-bench BENCH_SCRIPTS='$(BENCH_SPEED)'

bench-learning: setup  ## run the learning-curve benchmarks (hours on 2 cores), print key: value
	@$(MAKE) --no-print-directory run-bench BENCH_SCRIPTS='$(BENCH_LEARNING)'

run-bench:
	@for script in $(BENCH_SCRIPTS); do \
	  echo "== $$script"; $(IN_ENV) python $$script || exit 1; done

bench-peers: setup  ## LeRobot's SAC update timed beside ours (own venv .venv-peers, made once)
	@scripts/peers_venv.sh $(PEERS_ARGS)

lerobot-env: setup  ## build .venv-peers (LeRobot 0.4.4) for dataset export/import --format lerobot
	@scripts/peers_venv.sh --venv-only

clean:  ## remove build products (keeps .venv)
	rm -rf build install log demo_output demo_run
