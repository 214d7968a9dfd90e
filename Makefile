# Two entry points, as the README's quick start says:
#   make run   - set up and run the daemon (Unix socket + TCP, as root)
#   make test  - set up and run every check: ruff, mypy, pytest
VENV ?= .venv
PY := $(VENV)/bin/python
DEBS := scamper iproute2 ethtool tcpdump nftables

.PHONY: venv debs test test-unprivileged lint run bench bench-trace bench-daemon bench-queue \
	bench-rate clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

debs:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: venv
	$(VENV)/bin/ruff check warts protocol scamperd tests bench
	$(VENV)/bin/mypy

test: venv debs lint test-unprivileged
	$(VENV)/bin/pytest -q -p no:cacheprovider

# The daemon, its sessions, the one-shot CLI and the methods on the fake
# network (scamperd/engine/fakenet), run as nobody: proof that they need no
# root.  Tests that do (raw sockets, namespaces) skip themselves there.  If
# the venv's interpreter is out of nobody's reach (a python under /root),
# the system python3 runs with the venv's packages on its path.
UNPRIVILEGED := tests/scamperd/engine/test_fakenet.py tests/scamperd/test_daemon.py \
	tests/scamperd/test_robustness.py tests/scamperd/test_cli.py \
	tests/scamperd/test_transcript.py tests/scamperd/test_many_clients.py \
	tests/scamperd/methods
test-unprivileged: venv
	tests/unprivileged.sh $(abspath $(PY)) $(UNPRIVILEGED)

run: venv debs
	$(VENV)/bin/scamperd -U /run/scamperd.sock -P 127.0.0.1:31337 -p 1000

bench: venv debs
	$(PY) bench/warts_bench

# issue 4: 1,000 traces from 10 clients at -p 5000, scamperd next to Debian's
# scamper in the namespace test bed (root)
bench-trace: venv debs
	$(PY) bench/trace_bench

# scamperd against Debian's scamper in a namespace test bed: RTT accuracy,
# send rate, CPU per ping (root; about 3 minutes)
bench-daemon: venv debs
	$(PY) bench/daemon_bench

# memory per queued command (100,000 commands at -p 1) and the time to take
# one 200,000-command write, scamperd next to Debian's scamper, each a daemon
# on a unix socket in a loopback-only namespace (root; under a minute)
bench-queue: venv debs
	$(PY) bench/queue_bench

# issue 11: ping -c 1 -o 1 over distinct targets one hop away (AnyIP on r1)
# at -p 1000, 10000, 20000, 50000, IPv4 and IPv6, one-shot and 10 clients on
# the control socket; achieved pps, replies, drops, CPU per ping, bursts and
# memory with 10,000 tasks queued, next to Debian's scamper up to -p 10000
# (root; about 3 minutes; `bench/rate_bench --quick` in under one)
bench-rate: venv debs
	$(PY) bench/rate_bench --json rate_bench.json

clean:
	rm -rf $(VENV) build *.egg-info
