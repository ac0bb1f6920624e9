"""Check whole HTTP answers against the contract's paths."""
from contract import load_spec
from contract import validate_schema

# Statuses a route answers beyond those the contract lists, by design:
# an agent's outbound_message through 3CX answers the guarded send path's
# errors exactly as /api/send-message does (paused 423, upstream 502,
# instance gone 404), always with the contract's ApiError body.
EXTENSIONS = {
    "/integrations/3cx/webhook/{integration_id}": {"404", "423", "502"},
}


def assert_contract(path, method, response):
    """The status is documented for the route and the body matches it."""
    operation = load_spec()["paths"][path][method.lower()]
    status = str(response.status_code)
    assert response.mimetype == "application/json"
    if status in EXTENSIONS.get(path, ()):
        validate_schema("ApiError", response.get_json())
        return response.get_json()
    assert status in operation["responses"], (
        "%s %s answered undocumented %s" % (method, path, status))
    content = operation["responses"][status]["content"]["application/json"]
    schema_name = content["schema"]["$ref"].rsplit("/", 1)[1]
    validate_schema(schema_name, response.get_json())
    return response.get_json()
