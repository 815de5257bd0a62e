#!/usr/bin/env bash
# Lint, check migrations and run the whole test suite against PostgreSQL, Redis and Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV_BIN:-.venv/bin}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/triage}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/15}
# The cache gets a Redis database of its own: tests empty it, which must not touch the broker.
export CACHE_URL=${CACHE_URL:-redis://127.0.0.1:6379/13}
export CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}
# Production settings otherwise (DEBUG off), but the test servers speak plain HTTP on loopback.
export DEBUG=false SECURE_SSL_REDIRECT=false SECURE_COOKIES=false STATIC_FROM_SOURCE=true
export SECRET_KEY=${SECRET_KEY:-tests-only-secret-key-$(date +%s%N)}
# Test tasks go to a queue of their own, which only the tests' own workers read.
export CELERY_QUEUE=${CELERY_QUEUE:-triage-tests}
# Every process the tests start appends its log lines (gunicorn's access log too) to one file,
# which the last test reads back for credentials.
mkdir -p test-artifacts
export LOG_FILE=${LOG_FILE:-$PWD/test-artifacts/suite-log.jsonl}
: > "$LOG_FILE"
export GUNICORN_CMD_ARGS="--access-logfile '$LOG_FILE'"
# The tests' stand-ins for CI, GitHub and chat webhooks listen on 127.0.0.1.
export OUTBOUND_ALLOW_PRIVATE_NETWORKS=true OUTBOUND_ALLOWED_HOSTS=127.0.0.1,localhost

if [ ! -x "$CHROMIUM_PATH" ]; then
  sudo_cmd=()
  if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq chromium
fi

"$BIN/ruff" check .
"$BIN/ruff" format --check .
# The areas lean one way and no modules import each other in a circle (pyproject.toml).
"$BIN/lint-imports"
"$BIN/actionlint" .github/workflows/*.yml
"$BIN/hadolint" --failure-threshold warning Dockerfile
# Against the maintenance database: the application database need not exist for this check.
DATABASE_URL="${DATABASE_URL%/*}/postgres" "$BIN/python" manage.py makemigrations --check --dry-run
# The deployment checklist must be clean with production settings.
SECRET_KEY=deploy-check-$(date +%s%N)-not-a-real-secret-but-long-enough-for-the-check \
  DEBUG=false ALLOWED_HOSTS=triage.example.com SECURE_SSL_REDIRECT=true SECURE_COOKIES=true \
  STATIC_FROM_SOURCE=false "$BIN/python" manage.py check --deploy --fail-level WARNING
# pytest exits non-zero (5) when no test is selected, so an empty run fails too.
"$BIN/pytest" "$@"
# The Dockerfile's recipe, step by step, since no Docker engine runs here.
PYTHON="$BIN/python" ./scripts/image_recipe.sh
