"""The event catalogue as an AsyncAPI 3.0 document, generated from the pydantic event models."""

from __future__ import annotations

from typing import Any

from shared.events import CATALOGUE
from shared.messaging.topology import EVENTS_EXCHANGE


def _without_titles(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _without_titles(v) for k, v in schema.items() if k != "title"}
    if isinstance(schema, list):
        return [_without_titles(v) for v in schema]
    return schema


def build_asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for routing_key, model in sorted(CATALOGUE.items()):
        name = model.__name__
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for def_name, definition in schema.pop("$defs", {}).items():
            schemas[def_name] = _without_titles(definition)
        schemas[name] = _without_titles(schema)
        messages[name] = {
            "name": name,
            "title": name,
            "summary": (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else name,
            "contentType": "application/cloudevents+json",
            "payload": {"$ref": f"#/components/schemas/{name}"},
            "x-cloudevents-type": routing_key,
        }
        channels[routing_key] = {
            "address": routing_key,
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "bindings": {"amqp": {"is": "routingKey", "exchange": {"name": EVENTS_EXCHANGE, "type": "topic"}}},
        }
        operations[f"publish{name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{routing_key}"},
            "x-publisher": model.publisher,
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Rental platform events",
            "version": "1.0.0",
            "description": (
                "Events on the topic exchange `rental.events`, routing key `<publisher>.<event>`. Each message "
                "is a CloudEvents 1.0 envelope (JSON structured mode) whose `data` is the payload below; "
                "amounts are integer micro-iSC, rates micro-iSC per day."
            ),
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(sorted(schemas.items()))},
    }
