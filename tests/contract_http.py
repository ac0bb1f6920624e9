"""Check whole HTTP answers against the contract's paths."""
from contract import load_spec
from contract import validate_schema


def assert_contract(path, method, response):
    """The status is documented for the route and the body matches it."""
    operation = load_spec()["paths"][path][method.lower()]
    status = str(response.status_code)
    assert response.mimetype == "application/json"
    assert status in operation["responses"], (
        "%s %s answered undocumented %s" % (method, path, status))
    content = operation["responses"][status]["content"]["application/json"]
    schema_name = content["schema"]["$ref"].rsplit("/", 1)[1]
    validate_schema(schema_name, response.get_json())
    return response.get_json()
