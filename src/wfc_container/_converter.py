"""
The package's one cattrs converter: strict structuring of wire documents.

Structuring is stricter than Go's decoder on purpose: unknown keys, wrong JSON
types (``true`` for a number, ``"1"`` for a number, a string for an array) and
enum values outside the protocol are all errors, and every fault in a document
is reported at once as one ``message @ $.path`` line. What Go accepts and
writes itself is still read back: ``null`` for arrays and optional values,
``""`` for an unset enum, RFC 3339 times with nanoseconds and the zero time.
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
import types
import typing
from datetime import UTC, datetime, timedelta, timezone

import attrs
import cattrs
from cattrs.errors import (
    BaseValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn, make_mapping_structure_fn
from cattrs.v import format_exception as _cattrs_format_exception

from . import _gojson
from ._errors import DocumentError

T = typing.TypeVar("T")

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|[+-]\d{2}:\d{2})"
)


class _WireValueError(ValueError):
    """A JSON value of the wrong type or form; its text is the problem line."""


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"

    return "object" if isinstance(value, dict) else type(value).__name__


def _mismatch(value: object, expected: str) -> _WireValueError:
    return _WireValueError(f"expected {expected}, found {_json_type(value)}")


def _structure_scalar(value: object, cls: type) -> object:
    # register_structure_hook(str, ...) is a singledispatch registration, so
    # str-based enums arrive here too and are checked by value.
    if issubclass(cls, enum.Enum):
        return _structure_enum(value, cls)
    if cls is float and type(value) is int:
        return float(value)
    if type(value) is not cls:
        raise _mismatch(value, _SCALAR_NAMES[cls])

    return value


_SCALAR_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _structure_enum(value: object, cls: type[enum.Enum]) -> enum.Enum:
    allowed = [member.value for member in cls]
    try:
        return cls(value)
    except ValueError:
        found = repr(value) if isinstance(value, str) else _json_type(value)
        msg = f"invalid {cls.__name__} {found}: expected one of {allowed!r}"
        raise _WireValueError(msg) from None


def parse_time(text: str) -> datetime:
    """
    Parse an RFC 3339 time as Go writes it, truncating nanoseconds to microseconds.

    :raises ValueError: when ``text`` is not an RFC 3339 date and time.
    """
    match = _RFC3339.fullmatch(text)
    if match is None:
        msg = f"invalid time {text!r}: expected RFC 3339 like '2006-01-02T15:04:05Z'"
        raise _WireValueError(msg)

    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = (match.group(7) or "").ljust(6, "0")[:6]
    try:
        return datetime(
            year, month, day, hour, minute, second, int(fraction), _parse_zone(match[8])
        )
    except ValueError:
        msg = f"invalid time {text!r}: date or time out of range"
        raise _WireValueError(msg) from None


def _parse_zone(text: str) -> timezone:
    if text == "Z":
        return UTC

    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _structure_datetime(value: object, _: type) -> datetime:
    if not isinstance(value, str):
        raise _mismatch(value, "RFC 3339 time string")

    return parse_time(value)


def _structure_bytes(value: object, _: type) -> bytes:
    # Go writes []byte as standard base64 with padding, and null for nil.
    if value is None:
        return b""
    if not isinstance(value, str):
        raise _mismatch(value, "base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        msg = f"invalid base64 {value[:40]!r}: expected standard base64 with padding"
        raise _WireValueError(msg) from None


def _is_optional(cls: object) -> bool:
    is_union = (
        isinstance(cls, types.UnionType) or typing.get_origin(cls) is typing.Union
    )
    args = typing.get_args(cls)
    return is_union and len(args) == 2 and type(None) in args


def _structure_optional(value: object, cls: object) -> object:
    inner = next(a for a in typing.get_args(cls) if a is not type(None))
    if value is None:
        return None
    # Go writes an unset string enum as "" and an unset time as the zero time.
    if value == "" and isinstance(inner, type) and issubclass(inner, enum.Enum):
        return None
    if inner is datetime and value == _gojson.ZERO_TIME:
        return None

    return _converter.structure(value, inner)


def _is_homogeneous_tuple(cls: object) -> bool:
    args = typing.get_args(cls)
    return typing.get_origin(cls) is tuple and len(args) == 2 and args[1] is Ellipsis


def _structure_tuple(value: object, cls: object) -> tuple[object, ...]:
    # Go leaves a nil slice for null, so null reads as an empty tuple.
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _mismatch(value, "array")

    item_type = typing.get_args(cls)[0]
    items: list[object] = []
    errors: list[Exception] = []
    for index, item in enumerate(value):
        try:
            items.append(_converter.structure(item, item_type))
        except Exception as exc:  # noqa: BLE001 - collected and re-raised as a group
            exc.add_note(IterableValidationNote(f"index {index}", index, item_type))
            errors.append(exc)
    if errors:
        msg = f"while structuring {cls!r}"
        raise IterableValidationError(msg, errors, tuple)

    return tuple(items)


def _is_dict(cls: object) -> bool:
    return cls is dict or typing.get_origin(cls) is dict


def _make_dict_hook(cls: type) -> typing.Callable[[object, type], object]:
    inner = typing.cast(
        "typing.Callable[[object, type], object]",
        make_mapping_structure_fn(cls, _converter),
    )

    def structure_dict(value: object, target: type) -> object:
        # Go leaves a nil map for null.
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise _mismatch(value, "object")

        return inner(value, target)

    return structure_dict


def _make_attrs_hook(cls: type) -> typing.Callable[[object, type], object]:
    inner = typing.cast(
        "typing.Callable[[object, type], object]",
        make_dict_structure_fn(cls, _converter),
    )

    def structure_attrs(value: object, target: type) -> object:
        if not isinstance(value, dict):
            raise _mismatch(value, "object")

        return inner(value, target)

    return structure_attrs


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    for scalar in (str, int, float, bool):
        converter.register_structure_hook(scalar, _structure_scalar)
    converter.register_structure_hook(datetime, _structure_datetime)
    converter.register_structure_hook(bytes, _structure_bytes)
    converter.register_structure_hook_func(_is_optional, _structure_optional)
    converter.register_structure_hook_func(_is_homogeneous_tuple, _structure_tuple)
    converter.register_structure_hook_factory(_is_dict, _make_dict_hook)
    converter.register_structure_hook_factory(attrs.has, _make_attrs_hook)
    return converter


_converter = _make_converter()


def _format_problem(exc: BaseException, cls: type | None) -> str:
    if isinstance(exc, _WireValueError):
        return str(exc)
    if isinstance(exc, ForbiddenExtraKeysError):
        keys = ", ".join(repr(k) for k in sorted(exc.extra_fields))
        return f"unknown keys {keys}" if "," in keys else f"unknown key {keys}"
    if isinstance(exc, KeyError):
        return "required key missing"

    return _cattrs_format_exception(exc, cls)


def structure(data: object, cls: type[T], *, document: str) -> T:
    """
    Build a ``cls`` instance from parsed JSON, strictly.

    :param data: the parsed JSON value.
    :param cls: the attrs wire class (or any type the converter can structure).
    :param document: what the data is, for the error message.
    :returns: the structured value.
    :raises DocumentError: listing every fault as a ``message @ $.path`` line.
    """
    try:
        return _converter.structure(data, cls)
    except (BaseValidationError, _WireValueError, ForbiddenExtraKeysError) as exc:
        problems = cattrs.transform_error(
            exc, path="$", format_exception=_format_problem
        )
        raise DocumentError(document=document, problems=problems) from None


def structure_json(text: str | bytes, cls: type[T], *, document: str) -> T:
    """
    Parse JSON text with Go's rules and structure it as ``cls``.

    :raises DocumentError: when the text is not one JSON value or does not fit
        ``cls``.
    """
    return structure(_gojson.loads(text, document=document), cls, document=document)


def unstructure(obj: object) -> object:
    """
    Convert a wire value to JSON-ready dicts and lists as Go would write it.

    The result has Go's key order and omission rules, and encodes to exactly
    what :func:`_gojson.dumps` writes.
    """
    return _gojson.to_plain(obj)
