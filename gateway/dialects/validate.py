"""Small type checks shared by the dialect decoders. Each failure is a 400
whose ``param`` names the offending field, as the OpenAI API does."""

from __future__ import annotations

from typing import Any

from gateway.errors import invalid_request


def require(body: dict[str, Any], name: str) -> Any:
    if name not in body or body[name] is None:
        raise invalid_request(
            f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter"
        )
    return body[name]


def opt_str(body: dict[str, Any], name: str, param: str | None = None) -> str | None:
    value = body.get(name)
    if value is None or isinstance(value, str):
        return value
    raise invalid_request(
        f"Invalid type for '{param or name}': expected a string.", param=param or name, code="invalid_type"
    )


def opt_bool(body: dict[str, Any], name: str, param: str | None = None) -> bool | None:
    value = body.get(name)
    if value is None or isinstance(value, bool):
        return value
    raise invalid_request(
        f"Invalid type for '{param or name}': expected a boolean.", param=param or name, code="invalid_type"
    )


def opt_int(
    body: dict[str, Any], name: str, *, minimum: int | None = None, param: str | None = None
) -> int | None:
    value = body.get(name)
    p = param or name
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_request(f"Invalid type for '{p}': expected an integer.", param=p, code="invalid_type")
    if minimum is not None and value < minimum:
        raise invalid_request(
            f"Invalid value for '{p}': must be at least {minimum}.", param=p, code="invalid_value"
        )
    return value


def opt_number(
    body: dict[str, Any],
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    param: str | None = None,
) -> float | None:
    value = body.get(name)
    p = param or name
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_request(f"Invalid type for '{p}': expected a number.", param=p, code="invalid_type")
    if (low is not None and value < low) or (high is not None and value > high):
        raise invalid_request(
            f"Invalid value for '{p}': must be between {low} and {high}.", param=p, code="invalid_value"
        )
    return float(value)


def opt_dict(body: dict[str, Any], name: str, param: str | None = None) -> dict[str, Any] | None:
    value = body.get(name)
    if value is None or isinstance(value, dict):
        return value
    raise invalid_request(
        f"Invalid type for '{param or name}': expected an object.", param=param or name, code="invalid_type"
    )


def opt_list(body: dict[str, Any], name: str, param: str | None = None) -> list[Any] | None:
    value = body.get(name)
    if value is None or isinstance(value, list):
        return value
    raise invalid_request(
        f"Invalid type for '{param or name}': expected an array.", param=param or name, code="invalid_type"
    )


def stop_list(body: dict[str, Any], name: str = "stop") -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return value
    raise invalid_request(f"Invalid type for '{name}': expected a string or an array of strings.", param=name)


def metadata(body: dict[str, Any]) -> dict[str, str] | None:
    value = opt_dict(body, "metadata")
    if value is None:
        return None
    if len(value) > 16 or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise invalid_request(
            "Invalid 'metadata': at most 16 string keys with string values.",
            param="metadata",
            code="invalid_value",
        )
    return value
