# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
COPY pyproject.toml README.md ./
COPY triage ./triage
COPY runs ./runs
RUN /venv/bin/pip install .
COPY manage.py ./
COPY templates ./templates
COPY static ./static
RUN SECRET_KEY=collectstatic-only /venv/bin/python manage.py collectstatic --no-input

FROM python:3.11-slim
WORKDIR /app
RUN useradd --system --uid 10001 --home /app triage
COPY --from=build /venv /venv
COPY --from=build /app /app
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1
USER triage
EXPOSE 8000
CMD ["gunicorn", "triage.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-"]
