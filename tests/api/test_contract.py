"""The API's contract: the report schema and the OpenAPI document, from the validating code."""

import json

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_report_schema_is_served_from_the_validating_definition(client):
    from runs.schema import RunReport

    schema = client.get("/api/v1/schema.json").json()
    assert (
        schema["properties"]
        == json.loads(
            json.dumps(RunReport.model_json_schema(by_alias=True, ref_template="#/$defs/{model}"))
        )["properties"]
    )
    assert "scenarioId" in schema["$defs"]["ScenarioReport"]["required"]
    openapi = client.get("/api/openapi.json").json()
    assert "/api/v1/projects/{slug}/runs" in openapi["paths"]
    assert "RunReport" in openapi["components"]["schemas"]
    assert client.get("/api/docs").status_code == 200
