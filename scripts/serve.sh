#!/usr/bin/env bash
# Migrate, load the demo project and serve the dashboard on http://127.0.0.1:${PORT:-8000}.
# Without REDIS_URL, tasks run in-process; with it, a Celery worker (with beat) runs beside.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV_BIN:-.venv/bin}
PORT=${PORT:-8000}
export DEBUG=${DEBUG:-true}

# Keys of this install, made on first start and kept out of git: none is in the source. Keys
# already in the environment win. FIELD_ENCRYPTION_KEYS encrypts the secrets stored in the
# database; its file may hold a new key, a comma and the old one while rotating.
SECRETS_DIR=${SECRETS_DIR:-.secrets}
key_file() {  # key_file <name> <Python printing a new key>: the key in the file, made if missing
  local file="$SECRETS_DIR/$1"
  if [ ! -s "$file" ]; then
    (umask 077 && mkdir -p "$SECRETS_DIR" && "$BIN/python" -c "$2" >"$file.new" && mv "$file.new" "$file")
  fi
  cat "$file"
}
if [ -z "${SECRET_KEY:-}" ]; then
  SECRET_KEY=$(key_file secret_key 'import secrets; print(secrets.token_urlsafe(50))')
  export SECRET_KEY
fi
if [ -z "${FIELD_ENCRYPTION_KEYS:-}${FIELD_ENCRYPTION_KEY:-}" ]; then
  FIELD_ENCRYPTION_KEYS=$(key_file field_encryption_keys \
    'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')
  export FIELD_ENCRYPTION_KEYS
fi

# The demo's rerun command: the small suite shipped in demo/suite, run in a scratch folder.
if [ -z "${RERUN_COMMANDS:-}" ]; then
  mkdir -p .demo-rerun
  # Written by Python, so any path (absolute VENV_BIN, spaces, quotes) makes valid JSON.
  RERUN_COMMANDS=$("$BIN/python" -c 'import json, os, sys
python, here = os.path.abspath(sys.argv[1]), os.getcwd()
print(json.dumps({"demo": {"argv": [python, os.path.join(here, "demo/suite/run_demo_suite.py"),
                 "{scenarioIds}"], "cwd": os.path.join(here, ".demo-rerun"), "timeout": 120}}))' \
    "$BIN/python")
  export RERUN_COMMANDS
fi

"$BIN/python" manage.py migrate --no-input
"$BIN/python" manage.py seed_demo

children=()
stop_children() {
  trap - EXIT INT TERM
  for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop_children EXIT INT TERM

if [ -n "${REDIS_URL:-}" ]; then
  "$BIN/celery" -A triage worker --beat --loglevel=INFO --concurrency=2 &
  children+=($!)
else
  # Embedded mode: tasks run in-process; the periodic jobs run in a small loop of their own.
  "$BIN/python" manage.py run_periodic &
  children+=($!)
fi
reload=()
if [ "$DEBUG" = "true" ]; then reload=(--reload); fi
"$BIN/gunicorn" triage.wsgi -c python:triage.gunicorn_conf --bind "127.0.0.1:$PORT" --workers 2 --access-logfile - "${reload[@]}" &
children+=($!)
echo "Triage is serving on http://127.0.0.1:$PORT (Ctrl-C stops it)"
wait -n
