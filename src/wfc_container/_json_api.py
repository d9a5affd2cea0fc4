"""Public JSON helpers: wire values to and from the Go encoding."""

from __future__ import annotations

from typing import TypeVar

from ._converter import structure_json
from ._gojson import dumps

T = TypeVar("T")


def to_json(value: object, *, indent: bool = False) -> str:
    """
    Encode a wire value or an agent report as Go's ``encoding/json`` writes it.

    :param value: an attrs wire value, such as a ``RuntimeBackendReport``.
    :param indent: write the two-space layout of Go's ``MarshalIndent``
        instead of compact JSON.
    :returns: the JSON text, without a trailing newline.
    """
    return dumps(value, indent=indent)


def from_json(text: str | bytes, cls: type[T]) -> T:
    """
    Decode ``text`` strictly into ``cls``.

    :raises DocumentError: listing every unknown key, wrong type and bad enum
        value at once, each with its JSON path.
    """
    return structure_json(text, cls, document=cls.__name__)
