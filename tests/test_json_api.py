"""The public to_json/from_json helpers on a report written by hand."""

from __future__ import annotations

import pytest

from wfc_container import (
    DocumentError,
    RuntimeBackendReport,
    RuntimeBackendStatus,
    from_json,
    to_json,
)

DEGRADED = (
    '{"protocol_version":"compute.v1alpha1","backend_id":"podman-rootless",'
    '"family":"podman","tool":"podman","version":"4.3.1","os":"linux","arch":"amd64",'
    '"status":"degraded","reason":"run step: conformance image not present: a \\u003c b",'
    '"isolation_mode":"shared-kernel-container","install_burden":"system-installed",'
    '"runtime_profiles":["sandboxed-oci-v1"],"conformance_profiles":'
    '["distroless-static-v1"],"generated_at":"2026-12-04T10:00:00.5Z"}'
)


def test_report_round_trips_byte_for_byte() -> None:
    report = from_json(DEGRADED, RuntimeBackendReport)
    assert report.status is RuntimeBackendStatus.DEGRADED
    assert report.reason.endswith("a < b")
    assert to_json(report) == DEGRADED


def test_from_json_reports_every_fault() -> None:
    broken = DEGRADED.replace('"degraded"', '"broken"').replace('"os"', '"OS"')
    with pytest.raises(DocumentError) as caught:
        from_json(broken, RuntimeBackendReport)
    problems = caught.value.problems
    assert len(problems) == 2
    assert any("$.status" in p for p in problems)
    assert any("OS" in p for p in problems)
