"""Strict structuring of wire documents, including documents written by Go."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

import attrs
import pytest

from wfc_container import DocumentError
from wfc_container._converter import structure, structure_json, unstructure
from wfc_container._gojson import dumps
from wfc_container._wire import (
    ExecutorRef,
    RuntimeBackendFamily,
    RuntimeBackendReport,
    RuntimeBackendStatus,
    RuntimeProfile,
)


def test_structure_two_faults_two_lines() -> None:
    data = {
        "backend_id": 7,
        "family": "podman",
        "status": "fine",
        "isolation_mode": "user-namespace",
    }

    with pytest.raises(DocumentError) as info:
        structure(data, RuntimeBackendReport, document="runtime backend report")

    assert info.value.problems == (
        "expected string, found number @ $.backend_id",
        "invalid RuntimeBackendStatus 'fine': expected one of "
        "['supported', 'degraded', 'unsupported'] @ $.status",
    )
    assert info.value.document == "runtime backend report"


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"bogus": 1}, "unknown key 'bogus' @ $"),
        ({"reason": True}, "expected string, found boolean @ $.reason"),
        (
            {"runtime_profiles": "ab"},
            "expected array, found string @ $.runtime_profiles",
        ),
        (
            {"runtime_profiles": ["wasm"]},
            "invalid RuntimeProfile 'wasm': expected one of "
            f"{[p.value for p in RuntimeProfile]!r} @ $.runtime_profiles[0]",
        ),
        (
            {"evidence": {"workspace": 1}},
            "expected boolean, found number @ $.evidence.workspace",
        ),
        ({"evidence": []}, "expected object, found array @ $.evidence"),
        (
            {"executors": [{"version": "1"}]},
            "required key missing @ $.executors[0].provider",
        ),
        (
            {"generated_at": "2023-11-14"},
            "invalid time '2023-11-14': expected RFC 3339 like "
            "'2006-01-02T15:04:05Z' @ $.generated_at",
        ),
        (
            {"generated_at": "2023-13-14T00:00:00Z"},
            "invalid time '2023-13-14T00:00:00Z': date or time out of range "
            "@ $.generated_at",
        ),
        (
            {"generated_at": 5},
            "expected RFC 3339 time string, found number @ $.generated_at",
        ),
        ({"family": None}, None),
    ],
    ids=[
        "extra-key",
        "bool-for-str",
        "str-for-array",
        "bad-enum-in-list",
        "int-for-bool",
        "array-for-object",
        "missing-nested",
        "date-only",
        "bad-month",
        "number-time",
        "null-optional",
    ],
)
def test_structure_rejects_fault(
    changes: dict[str, object], problem: str | None
) -> None:
    data: dict[str, object] = {
        "backend_id": "podman-rootless",
        "family": "podman",
        "status": "degraded",
        "isolation_mode": "user-namespace",
    }
    data.update(changes)

    if problem is None:
        assert structure(data, RuntimeBackendReport, document="report").family is None
        return
    with pytest.raises(DocumentError) as info:
        structure(data, RuntimeBackendReport, document="report")

    assert info.value.problems == (problem,)


def test_structure_top_level_not_object() -> None:
    with pytest.raises(DocumentError, match=r"expected object, found array @ \$$"):
        structure([], ExecutorRef, document="executor")


def test_structure_json_parse_error_is_document_error() -> None:
    with pytest.raises(DocumentError, match="invalid JSON"):
        structure_json("{", ExecutorRef, document="executor")


def test_structure_time_offset_kept() -> None:
    text = (
        '{"backend_id":"b","family":"docker","status":"degraded",'
        '"isolation_mode":"microvm","generated_at":"2023-11-14T23:13:20+01:00"}'
    )

    report = structure_json(text, RuntimeBackendReport, document="report")

    assert report.generated_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert '"generated_at":"2023-11-14T23:13:20+01:00"' in dumps(report)


class _Color(enum.StrEnum):
    RED = "red"


@attrs.frozen(kw_only=True)
class _Other:
    """A wire class defined elsewhere; the converter must handle it generically."""

    count: int
    ratio: float = 0.0
    color: _Color | None = None
    names: tuple[str, ...] = ()
    env: dict[str, str] = attrs.field(factory=dict, metadata={"go_map": True})


def test_structure_null_map_empty() -> None:
    other = structure({"count": 1, "env": None}, _Other, document="other")

    assert other.env == {}


def test_structure_generic_class() -> None:
    other = structure(
        {"count": 2, "ratio": 1, "color": "red", "names": None, "env": {"b": "1"}},
        _Other,
        document="other",
    )

    assert other == _Other(count=2, ratio=1.0, color=_Color.RED, env={"b": "1"})


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"count": True}, "expected integer, found boolean @ $.count"),
        ({"count": "1"}, "expected integer, found string @ $.count"),
        ({"count": 1.0}, "expected integer, found number @ $.count"),
        ({"count": 1, "ratio": "1"}, "expected number, found string @ $.ratio"),
        ({"count": 1, "env": {"a": 1}}, "expected string, found number @ $.env['a']"),
        ({"count": 1, "env": []}, "expected object, found array @ $.env"),
    ],
    ids=["bool", "string", "float", "string-float", "map-value", "map-array"],
)
def test_structure_generic_strict_scalars(
    data: dict[str, object], problem: str
) -> None:
    with pytest.raises(DocumentError) as info:
        structure(data, _Other, document="other")

    assert info.value.problems == (problem,)


def test_unstructure_matches_dumps() -> None:
    report = RuntimeBackendReport(
        backend_id="b",
        family=RuntimeBackendFamily.DOCKER,
        status=RuntimeBackendStatus.DEGRADED,
        isolation_mode=None,
    )

    assert unstructure(report) == {
        "backend_id": "b",
        "family": "docker",
        "status": "degraded",
        "isolation_mode": "",
    }
    assert dumps(unstructure(report)) == dumps(report)


@attrs.frozen
class _Output:
    stdout: bytes = attrs.field(default=b"", metadata={"omit": "empty"})


def test_structure_bytes_base64() -> None:
    """Go writes []byte as padded base64, and the converter reads it back."""
    output = structure({"stdout": "b2sK"}, _Output, document="result")

    assert output == _Output(stdout=b"ok\n")
    assert dumps(output) == '{"stdout":"b2sK"}'
    assert structure({"stdout": None}, _Output, document="result") == _Output()


def test_structure_bytes_invalid() -> None:
    with pytest.raises(DocumentError) as info:
        structure({"stdout": "b2sK!"}, _Output, document="result")

    assert info.value.problems == (
        "invalid base64 'b2sK!': expected standard base64 with padding @ $.stdout",
    )
