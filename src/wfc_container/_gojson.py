"""
JSON text exactly as Go's ``encoding/json`` writes and reads it.

Reports written here must be byte-identical to what the Go protocol writes for
the same value. This module therefore owns every encoding rule that differs from
Python's ``json``, namely struct field order, ``omitempty``/``omitzero``, sorted map
keys, HTML-safe string escaping, RFC 3339 nanosecond times, base64 bytes and
the ``MarshalIndent`` layout.
"""

from __future__ import annotations

import base64
import enum
import json
import math
import re
import types
import typing
from datetime import UTC, datetime, timedelta

import attrs

from ._errors import DocumentError

# Go's zero time.Time, written when a time field without omitzero is unset.
ZERO_TIME = "0001-01-01T00:00:00Z"

_HEX = "0123456789abcdef"
_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
# Everything Go escapes: control characters, the quote and backslash, the three
# HTML characters, U+2028/U+2029 (line breaks to JavaScript) and lone surrogates,
# which are invalid UTF-8 and become U+FFFD.
_HINTS: dict[type, dict[str, object]] = {}
_NEEDS_ESCAPE = re.compile('[\x00-\x1f"\\\\<>&\u2028\u2029\ud800-\udfff]')


def dumps(obj: object, *, indent: bool = False) -> str:
    """
    Encode ``obj`` as Go's ``json.Marshal`` (or ``MarshalIndent`` with two spaces).

    ``obj`` may be an attrs instance, a dict, a list or tuple, or a scalar.

    :param obj: the value to encode.
    :param indent: write the ``MarshalIndent(v, "", "  ")`` layout instead of
        compact JSON.
    :returns: the JSON text, without a trailing newline.
    :raises ValueError: when a float is NaN or infinite, or a datetime is naive.
    :raises TypeError: when a value has a type Go JSON has no form for.
    """
    plain = to_plain(obj)
    if indent:
        return _encode_indented(plain, "")

    return _encode_compact(plain)


def to_plain(obj: object) -> object:
    """
    Convert ``obj`` to dicts, lists and JSON scalars as Go would marshal it.

    attrs instances become dicts in field order with the ``omit`` metadata
    applied, enums become their value, datetimes RFC 3339 strings, bytes base64.

    :param obj: the value to convert.
    :returns: a tree that ``json``-style encoders can write in order.
    """
    if attrs.has(type(obj)):
        return _struct_to_plain(obj)
    if isinstance(obj, enum.Enum):
        return to_plain(obj.value)
    if isinstance(obj, datetime):
        return format_time(obj)
    if isinstance(obj, bytes | bytearray):
        return base64.b64encode(obj).decode("ascii")
    if isinstance(obj, dict):
        return {_key(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_plain(item) for item in obj]
    if obj is None or isinstance(obj, str | int | float):
        return obj

    msg = f"cannot encode {type(obj).__name__!r} as JSON"
    raise TypeError(msg)


def format_time(value: datetime) -> str:
    """
    Format ``value`` as Go's RFC 3339 with nanoseconds, trailing zeros trimmed.

    UTC is written as ``Z`` and other offsets as ``+hh:mm``, as Go keeps the
    value's own zone.

    :raises ValueError: when ``value`` has no time zone.
    """
    offset = value.utcoffset()
    if offset is None:
        msg = f"cannot encode naive datetime {value!r}: expected a time zone"
        raise ValueError(msg)

    text = value.replace(tzinfo=None, microsecond=0).isoformat()
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")

    return text + _format_offset(offset)


def _format_offset(offset: timedelta) -> str:
    if not offset:
        return "Z"

    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def is_zero_time(value: datetime | None) -> bool:
    """Return whether ``value`` is unset or Go's zero time (year 1, UTC midnight)."""
    return value is None or value == datetime(1, 1, 1, tzinfo=UTC)


def loads(text: str | bytes, *, document: str) -> object:
    """
    Parse one JSON value the way Go's ``json.Unmarshal`` accepts it.

    Bytes are decoded as UTF-8 with invalid sequences replaced by U+FFFD, as Go
    does. NaN, Infinity and anything after the value other than whitespace are
    rejected.

    :param text: the JSON text.
    :param document: what the text is, for the error message.
    :returns: the parsed value (dicts, lists, str, int, float, bool, None).
    :raises DocumentError: when the text is not exactly one JSON value.
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", errors="replace")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        problem = (
            f"invalid JSON: {exc.msg.lower()} @ line {exc.lineno} column {exc.colno}"
        )
        raise DocumentError(document=document, problems=[problem]) from None
    except ValueError as exc:
        raise DocumentError(document=document, problems=[str(exc)]) from None


def _reject_constant(name: str) -> object:
    msg = f"invalid JSON: {name!r} is not a JSON number"
    raise ValueError(msg)


def _key(key: object) -> str:
    if isinstance(key, enum.Enum):
        key = key.value
    if not isinstance(key, str):
        msg = f"cannot encode map key {key!r}: expected a string"
        raise TypeError(msg)

    return key


def _struct_to_plain(obj: object) -> dict[str, object]:
    out: dict[str, object] = {}
    hints = _field_hints(type(obj))
    for field in _fields(type(obj)):
        value = getattr(obj, field.name)
        omit = field.metadata.get("omit")
        if omit == "empty" and _is_empty(value, hints[field.name]):
            continue
        if omit == "zero" and _is_zero(value, field):
            continue
        if value is None:
            out[field.name] = _nil_value(hints[field.name])
        elif field.metadata.get("go_map") and isinstance(value, dict):
            out[field.name] = {k: to_plain(value[k]) for k in _sorted_keys(value)}
        else:
            out[field.name] = to_plain(value)

    return out


def _sorted_keys(mapping: dict[object, object]) -> list[object]:
    # Go sorts map keys by their UTF-8 bytes, which is the code point order
    # that Python uses for str.
    return sorted(mapping, key=_key)


def _field_hints(cls: type) -> dict[str, object]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)

    return hints


def _fields(cls: type) -> tuple[attrs.Attribute[object], ...]:
    fields: tuple[attrs.Attribute[object], ...] = attrs.fields(
        typing.cast("type[attrs.AttrsInstance]", cls)
    )
    return fields


def _is_empty(value: object, hint: object) -> bool:
    """Return whether Go's ``omitempty`` drops ``value`` (times are never dropped)."""
    if datetime in _type_args(hint):
        return False
    if value is None or isinstance(value, bool | int | float | str):
        return not value
    if isinstance(value, tuple | list | dict | bytes):
        return len(value) == 0

    return False


def _is_zero(value: object, field: attrs.Attribute[object]) -> bool:
    """Return whether Go's ``omitzero`` drops ``value``."""
    if isinstance(value, datetime):
        return is_zero_time(value)
    if attrs.has(type(value)):
        # A struct is zero when every field is. An empty tuple where the default
        # is None is Go's empty non-nil slice, so it is not zero.
        return all(_is_zero(getattr(value, f.name), f) for f in _fields(type(value)))

    return _equals_default(value, field)


def _equals_default(value: object, field: attrs.Attribute[object]) -> bool:
    default = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        default = default.factory()  # type: ignore[attr-defined]
    if default is attrs.NOTHING or default is None:
        return value is None or (isinstance(value, str | int | float) and not value)

    return bool(value == default)


def _nil_value(hint: object) -> object:
    """Return what Go writes for a field whose Python value is ``None``."""
    args = _type_args(hint)
    if datetime in args:
        return ZERO_TIME
    if any(isinstance(a, type) and issubclass(a, str) for a in args):
        return ""
    if bool in args:
        return False
    if int in args or float in args:
        return 0

    # Pointers, slices and maps are written as null.
    return None


def _type_args(hint: object) -> tuple[object, ...]:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)

    return (hint,)


def _encode_compact(value: object) -> str:
    if isinstance(value, dict):
        items = (f"{_quote(k)}:{_encode_compact(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_encode_compact(v) for v in value) + "]"

    return _encode_scalar(value)


def _encode_indented(value: object, prefix: str) -> str:
    inner = prefix + "  "
    if isinstance(value, dict) and value:
        items = (
            f"{inner}{_quote(k)}: {_encode_indented(v, inner)}"
            for k, v in value.items()
        )
        return "{\n" + ",\n".join(items) + "\n" + prefix + "}"
    if isinstance(value, list) and value:
        items = (inner + _encode_indented(v, inner) for v in value)
        return "[\n" + ",\n".join(items) + "\n" + prefix + "]"

    return _encode_compact(value)


def _encode_scalar(value: object) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _format_float(value)

    msg = f"cannot encode {type(value).__name__!r} as JSON"
    raise TypeError(msg)


def _quote(text: str) -> str:
    return '"' + _NEEDS_ESCAPE.sub(_escape_match, text) + '"'


def _escape_match(match: re.Match[str]) -> str:
    char = match.group()
    short = _SHORT_ESCAPES.get(char)
    if short is not None:
        return short
    if "\ud800" <= char <= "\udfff":
        return "\ufffd"

    code = ord(char)
    return "\\u" + "".join(_HEX[(code >> shift) & 0xF] for shift in (12, 8, 4, 0))


def _format_float(value: float) -> str:
    """Format a float64 as Go does: shortest digits, exponent outside 1e-6..1e21."""
    if math.isnan(value) or math.isinf(value):
        msg = f"cannot encode float {value!r}: JSON has no form for it"
        raise ValueError(msg)
    if value == int(value) and abs(value) < 1e21:
        return str(int(value)) if value or math.copysign(1, value) > 0 else "-0"

    magnitude = abs(value)
    if magnitude < 1e-6 or magnitude >= 1e21:
        mantissa, _, exponent = f"{value!r}".partition("e")
        exp = int(exponent)
        return f"{mantissa.removesuffix('.0')}e{'-' if exp < 0 else '+'}{abs(exp):d}"

    return _plain_decimal(value)


def _plain_decimal(value: float) -> str:
    text = repr(value)
    if "e" not in text:
        return text

    # repr switches to exponent form below 1e-4, while Go keeps plain decimals
    # down to 1e-6, so spell those digits out.
    mantissa, _, exponent = text.partition("e")
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "")
    return f"{sign}0.{'0' * (-int(exponent) - 1)}{digits}"
