#!/usr/bin/env bash
# The Dockerfile's steps, run here where no Docker engine is: install the app into a fresh venv
# (not editable, as the image does), collect static files, check migrations, start gunicorn
# with production settings and ask /healthz. Keep it in step with the Dockerfile.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/app"
cp -r pyproject.toml README.md triage_upload.py triage runs operations defects reruns api demo \
  manage.py templates static "$work/app/"
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet "$work/app" 2> >(grep -v "Location .file:" >&2)
cd "$work/app"
export SECRET_KEY="recipe-check-$(date +%s%N)-a-long-random-enough-secret-for-the-check"
export DEBUG=false STATIC_FROM_SOURCE=false ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=false
export SECURE_COOKIES=false PROMETHEUS_MULTIPROC_DIR="$work/metrics"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
"$work/venv/bin/python" manage.py collectstatic --no-input >/dev/null
# The image runs against a migrated database: migrate a scratch one, then the check must pass.
export DATABASE_URL=${RECIPE_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/triage_recipe}
"$work/venv/bin/python" - <<'PY'
import os, urllib.parse, psycopg
url = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
name = url.path.lstrip("/")
with psycopg.connect(url._replace(path="/postgres").geturl(), autocommit=True) as conn:
    conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    conn.execute(f'CREATE DATABASE "{name}"')
PY
"$work/venv/bin/python" manage.py migrate --no-input >/dev/null
"$work/venv/bin/python" manage.py migrate --check
port=$("$work/venv/bin/python" -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
"$work/venv/bin/gunicorn" triage.wsgi -c python:triage.gunicorn_conf --bind "127.0.0.1:$port" --workers 2 >"$work/gunicorn.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 60); do
  if "$work/venv/bin/python" -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:$port/healthz', timeout=2).status != 200)" 2>/dev/null; then
    "$work/venv/bin/python" -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$port/static/css/triage.css').status, 'static files served')" 
    echo "image recipe: healthy on 127.0.0.1:$port"
    exit 0
  fi
  sleep 0.5
done
cat "$work/gunicorn.log"
echo "image recipe: gunicorn never answered /healthz" >&2
exit 1
