"""The API contract: the report's JSON Schema and an OpenAPI document, both generated from
`runs/schema.py` (the definition the server validates with), and a docs page rendered from it."""

from functools import lru_cache
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from runs.schema import SCHEMA_VERSION, RunReport

PROBLEM = {
    "type": "object",
    "properties": {
        "error": {"type": "string"},
        "problems": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "problem": {"type": "string"}},
            },
        },
    },
    "required": ["error"],
}


@lru_cache(maxsize=1)
def report_json_schema() -> dict[str, Any]:
    schema = RunReport.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"/api/v1/schema.json#v{SCHEMA_VERSION}",
        "title": f"Triage run report, version {SCHEMA_VERSION}",
        **schema,
    }


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _param(name: str, description: str, *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": {"type": "string"}}  # fmt: skip


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    report = report_json_schema()
    defs = report.get("$defs", {})
    body = {key: value for key, value in report.items() if key not in ("$defs", "$schema", "$id")}
    schemas = {"RunReport": body, "Problem": PROBLEM, **defs}
    slug = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
    run_id = {"name": "runId", "in": "path", "required": True, "schema": {"type": "string"}}
    bearer = [{"projectToken": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Triage API", "version": f"1 (report schema {SCHEMA_VERSION})"},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"projectToken": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/api/v1/projects/{slug}/runs": {
                "post": {
                    "summary": "Store a run report (Triage JSON or test runner XML), exactly once",
                    "security": bearer,
                    "parameters": [
                        slug,
                        _param("runId", "XML only: CI's id of this run attempt"),
                        _param("suite", "XML only: the suite, e.g. smoke"),
                        _param("branch", "XML only"),
                        _param("commit", "XML only"),
                        _param("url", "XML only: link to the CI run"),
                        _param("rerunOf", "XML only: the run id this run reruns"),
                        _param("rerunToken", "XML only: the token Triage passed to the rerun"),
                        _param("part", "XML only: this report is one part of the run (a shard)"),
                        _param("totalParts", "XML only: how many parts the run will have"),
                        _param("variant", "XML only, repeatable: key=value the tests ran under"),
                    ],
                    "requestBody": {
                        "required": True,
                        "description": "Content-Encoding: gzip is accepted.",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/RunReport"}
                            },
                            "application/xml": {
                                "schema": {
                                    "type": "string",
                                    "description": "JUnit (<testsuites>, <testsuite>), NUnit 3 "
                                    "(<test-run>), NUnit 2.5 (<test-results>), xUnit v2 "
                                    "(<assemblies>) or TRX (<TestRun>), told by the root element",
                                }
                            },
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "Stored (a whole run, or a new part of one); the "
                            "body has the run's id, url, counts and parts received"
                        },
                        "200": {"description": "The same report again: nothing new stored"},
                        "400": _error("Malformed, or not matching the schema (every problem)"),
                        "401": _error("Missing or unknown project token"),
                        "404": _error("No such project for this token"),
                        "409": _error(
                            "This run id (or part) was stored with other content, or the "
                            "part does not fit its run"
                        ),
                        "413": _error("Larger than the limit (also after gzip)"),
                        "415": _error("Neither JSON nor XML"),
                    },
                }
            },
            "/api/v1/projects/{slug}/runs/{runId}": {
                "get": {
                    "summary": "A stored run's summary, as the post was answered: status and "
                    "counts (passed, failed, skipped, error, diagnosticsGaps, flaky)",
                    "security": bearer,
                    "parameters": [slug, run_id],
                    "responses": {
                        "200": {
                            "description": "{id, url, runId, status, counts, durationMs, "
                            "parts: {received, expected, names}}"
                        },
                        "401": _error("Missing or unknown project token"),
                        "404": _error("No such project for this token, or no such run"),
                    },
                }
            },
            "/api/v1/projects/{slug}/defects": {
                "get": {
                    "summary": "List defects, e.g. to gate a release on open TENANT-* defects",
                    "security": bearer,
                    "parameters": [
                        slug,
                        _param(
                            "state",
                            "comma-separated: open, muted, resolved, all, or a state "
                            "(new, acknowledged, regressed)",
                        ),
                        _param("class", "infra, harness, algorithm, data, flake, unclassified"),
                        _param("scenario", "scenario id; * is a wildcard"),
                        _param("invariant", "invariant id; * is a wildcard"),
                        _param("owner", 'owning team\'s name, or "none" for unowned defects'),
                    ],
                    "responses": {
                        "200": {"description": "{count, truncated, defects: [...]}"},
                        "400": _error("Unknown filter value"),
                        "401": _error("Missing or unknown project token"),
                    },
                }
            },
            "/api/v1/reruns/{token}/status": {
                "post": {
                    "summary": "CI reports a rerun's progress; the rerun token is the credential",
                    "parameters": [
                        {
                            "name": "token",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                    ],
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "state": {"enum": ["running", "error", "cancelled"]},
                                        "url": {"type": "string"},
                                    },
                                }
                            }
                        }
                    },
                    "responses": {
                        "200": {"description": "The rerun's state"},
                        "404": _error("No such rerun"),
                    },
                }
            },
        },
    }


def schema_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(report_json_schema(), json_dumps_params={"indent": 2})


def openapi_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_document(), json_dumps_params={"indent": 2})


def api_docs(request: HttpRequest) -> HttpResponse:
    document = openapi_document()
    operations = [
        {"path": path, "method": method.upper(), **operation}
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]
    fields = []
    for name, prop in report_json_schema()["$defs"].items():
        for field, spec in prop.get("properties", {}).items():
            required = field in prop.get("required", [])
            description = spec.get("description", "")
            fields.append(
                {"model": name, "field": field, "required": required, "description": description}
            )
    return render(request, "api/docs.html", {"operations": operations, "version": SCHEMA_VERSION,
                                             "fields": fields})  # fmt: skip
