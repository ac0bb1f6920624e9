"""Validate bodies against the public contract in shared/openapi.json.

Reusable by any test: ``validate_schema(name, body)`` for any
components/schemas entry, ``validate_event_payload(payload)`` for customer
webhook events (schema picked by ``payload["event"]``) and
``validate_api_error(body)``.  Set GATEWAY_OPENAPI_PATH to use another
copy of the contract.
"""
import functools
import json
import os

from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry
from referencing.jsonschema import DRAFT4

# The repository keeps its own copy (served at GET /openapi.json), so the
# suite runs from any clone; test_contract_copy checks it against shared/.
DEFAULT_PATH = os.path.join(os.path.dirname(__file__), "..", "openapi.json")
SHARED_PATH = os.path.join(os.path.dirname(__file__), "..", "..",
                           "shared", "openapi.json")
_SPEC_URI = "urn:whatsapp-gateway:openapi"


@functools.lru_cache(maxsize=None)
def load_spec() -> dict:
    """Return the parsed contract (cached for the test session)."""
    path = os.environ.get("GATEWAY_OPENAPI_PATH") or DEFAULT_PATH
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


@functools.lru_cache(maxsize=None)
def _registry() -> Registry:
    # OpenAPI 3.0 schemas are draft-4 flavoured; registering the whole
    # document lets "#/components/schemas/..." refs resolve inside it.
    return Registry().with_resource(_SPEC_URI,
                                    DRAFT4.create_resource(load_spec()))


@functools.lru_cache(maxsize=None)
def event_schema_names() -> dict:
    """Map each customer event name to the schema that defines it."""
    names = {}
    for name, schema in load_spec()["components"]["schemas"].items():
        for part in schema.get("allOf", []):
            enum = part.get("properties", {}).get("event", {}).get("enum")
            for event in enum or []:
                names[event] = name
    return names


def validate_schema(name: str, body) -> None:
    """Raise jsonschema.ValidationError unless body matches schema name."""
    schemas = load_spec()["components"]["schemas"]
    if name not in schemas:
        raise KeyError(f"no components/schemas/{name} in the contract")
    ref = {"$ref": f"{_SPEC_URI}#/components/schemas/{name}"}
    validator = OAS30Validator(ref, registry=_registry(),
                               format_checker=oas30_format_checker)
    validator.validate(body)


def validate_event_payload(payload: dict) -> None:
    """Validate a customer webhook body against its event's schema."""
    event = payload.get("event") if isinstance(payload, dict) else None
    name = event_schema_names().get(event)
    if name is None:
        raise AssertionError(f"no schema for customer event {event!r}")
    validate_schema(name, payload)


def validate_api_error(body) -> None:
    """Validate an error response body against ApiError."""
    validate_schema("ApiError", body)
