#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs the oracle (Debian's redis-server,
# used by the differential tests), checks formatting and lints, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-benchmark >/dev/null 2>&1 \
  || ! command -v redis-sentinel >/dev/null 2>&1; then
  echo "== installing redis-server, redis-tools and redis-sentinel (the test oracles)"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server redis-tools redis-sentinel >/dev/null
fi
redis-server --version

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace

echo "== smoke tests with real client libraries (redis-py incl. Lock, Celery, ioredis)"
cargo build --bin cinnabar-server
PY_DEPS=('redis>=5' 'celery[redis]>=5.3' packaging)
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "${PY_DEPS[@]}" 2>/dev/null \
  || python3 -m pip install -q --disable-pip-version-check "${PY_DEPS[@]}"
timeout 300 python3 tests/smoke/redis_py.py target/debug/cinnabar-server
timeout 300 python3 tests/smoke/celery_smoke.py target/debug/cinnabar-server
if command -v npm >/dev/null 2>&1; then
  (cd tests/smoke && timeout 300 npm install --silent --no-audit --no-fund)
  timeout 300 node tests/smoke/ioredis.mjs target/debug/cinnabar-server
else
  echo "npm not found: skipping the ioredis smoke test"
fi
