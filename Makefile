# kubelite: `make up` starts an all-in-one cluster, `make test` runs the whole suite,
# `make generate` regenerates the API types and protobuf tables from their pinned sources.
# Both first install whatever is missing (Debian packages when run as root on Debian, and .venv).

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
DATA_DIR ?= /var/lib/kubelite
LISTEN ?= 127.0.0.1:6443
DEB_PACKAGES := runc crun busybox-static docker-registry etcd-server etcd-client \
	containernetworking-plugins iptables nftables conmon iproute2 tar openssl mmdebstrap haproxy \
	chromium chromium-driver
# node and npm build the dashboard (web/dashboard/); installed from Debian only when no `npm`
# is on the PATH (a NodeSource nodejs already ships it, and conflicts with Debian's npm).
NODE_PACKAGES := nodejs npm
DASHBOARD_STATIC := src/kubelite/apiserver/dashboard/static
# The suite runs in TEST_WORKERS processes (pytest-xdist), a test module each at a time: most
# end-to-end tests wait on containers, leases and timers, so two halve the wall time on two
# cores. Every cluster a test starts owns its own host resources, so modules never collide.
TEST_WORKERS ?= 2
PYTEST_ARGS ?=

.PHONY: install deb venv dashboard up test lint bench clean generate

install: deb venv dashboard

# The dashboard's scripts and styles, bundled by esbuild from the npm packages pinned in
# web/dashboard/package-lock.json into the Python package; rebuilt when a source changes.
dashboard: $(DASHBOARD_STATIC)/index.html

$(DASHBOARD_STATIC)/index.html: web/dashboard/package-lock.json web/dashboard/build.mjs $(wildcard web/dashboard/src/*)
	cd web/dashboard && npm ci --no-audit --no-fund --loglevel=error && node build.mjs

deb:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		missing=""; \
		for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
		command -v npm >/dev/null || missing="$$missing $(NODE_PACKAGES)"; \
		if [ -n "$$missing" ]; then \
			echo "installing Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		fi; \
	else echo "not root on Debian: skipping Debian packages ($(DEB_PACKAGES))"; fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip >/dev/null
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

up: install
	$(VENV)/bin/kubelite up --data-dir $(DATA_DIR) --listen $(LISTEN)

test: install
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --durations=25 $(PYTEST_ARGS)

# definitions.json, api/types and the protobuf tables, from the kubernetes-validate wheel
# pinned in pyproject.toml and kubectl 1.32 (tools/generate.py; drift fails a unit test).
generate: venv
	$(PY) -m tools.generate $(if $(KUBECTL_132),--kubectl $(KUBECTL_132))

lint: venv
	$(VENV)/bin/ruff check src tests bench tools
	$(VENV)/bin/mypy

bench: install
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info web/dashboard/node_modules $(DASHBOARD_STATIC)
