# kubelite: `make up` starts an all-in-one cluster, `make test` runs the whole suite,
# `make generate` regenerates the API types and protobuf tables from their pinned sources.
# Both first install whatever is missing (Debian packages when run as root on Debian, and .venv).

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
DATA_DIR ?= /var/lib/kubelite
LISTEN ?= 127.0.0.1:6443
DEB_PACKAGES := runc crun busybox-static docker-registry etcd-server etcd-client \
	containernetworking-plugins iptables nftables conmon iproute2 tar openssl mmdebstrap
PYTEST_ARGS ?=

.PHONY: install deb venv up test lint bench clean generate

install: deb venv

deb:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		missing=""; \
		for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
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
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

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
	rm -rf $(VENV) build *.egg-info
