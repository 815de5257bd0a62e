# syntax=docker/dockerfile:1
# Build stage: install the app into a venv and collect the static files.
FROM python:3.11-slim AS build
WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
COPY pyproject.toml README.md triage_upload.py ./
# The project package and the areas (see the README's Layout).
COPY triage ./triage
COPY runs ./runs
COPY operations ./operations
COPY defects ./defects
COPY reruns ./reruns
COPY api ./api
COPY demo ./demo
RUN /venv/bin/pip install .
COPY manage.py ./
COPY templates ./templates
COPY static ./static
RUN SECRET_KEY=collectstatic-only /venv/bin/python manage.py collectstatic --no-input

# Run stage: the venv and the app, as an unprivileged user.
FROM python:3.11-slim
WORKDIR /app
RUN useradd --system --uid 10001 --home /app triage \
    && mkdir -p /tmp/metrics && chown 10001 /tmp/metrics
COPY --from=build /venv /venv
COPY --from=build /app /app
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 PROMETHEUS_MULTIPROC_DIR=/tmp/metrics
USER 10001
EXPOSE 8000
# Asks with the first allowed host name, which is what Django accepts.
HEALTHCHECK --interval=30s --timeout=5s CMD ["python", "-c", "import os,sys,urllib.request as u; h=os.environ.get('ALLOWED_HOSTS','localhost').split(',')[0]; sys.exit(u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'Host': h}), timeout=4).status != 200)"]
CMD ["gunicorn", "triage.wsgi", "-c", "python:triage.gunicorn_conf", "--bind", "0.0.0.0:8000", "--workers", "2"]
