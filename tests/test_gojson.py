"""Byte-exact checks of the Go-compatible encoder against hand-written Go output."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import attrs
import pytest

from wfc_container import DocumentError
from wfc_container._converter import structure_json
from wfc_container._gojson import dumps, format_time, loads
from wfc_container._wire import (
    ContainerRuntimeTool,
    ExecutionSecurityTier,
    ExecutorRef,
    ManagedRuntimeBundleDescriptor,
    ManagedRuntimeCVEPolicy,
    ManagedRuntimeScopedStorePolicy,
    ManagedRuntimeSignatureSubject,
    ManagedRuntimeTarget,
    ManagedRuntimeUpdatePolicy,
    ProofTier,
    RuntimeBackendEvidence,
    RuntimeBackendFamily,
    RuntimeBackendReport,
    RuntimeBackendStatus,
    RuntimeInstallBurden,
    RuntimeIsolationMode,
    RuntimeProfile,
)

GENERATED = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
DIGEST_C = "sha256:" + "c" * 64
DIGEST_D = "sha256:" + "d" * 64


def supported_report() -> RuntimeBackendReport:
    executor = ExecutorRef(
        provider="sandboxed-command",
        version="5.0.0",
        execution_security_tier=ExecutionSecurityTier.SANDBOXED_CONTAINER,
        proof_tier=ProofTier.ARTIFACT_HASH,
        image_digest=DIGEST_A,
        rootfs_digest=DIGEST_B,
    )
    return RuntimeBackendReport(
        protocol_version="compute.v1alpha1",
        backend_id="podman-rootless",
        family=RuntimeBackendFamily.PODMAN,
        tool=ContainerRuntimeTool.PODMAN,
        version="5.0.0",
        os="linux",
        arch="amd64",
        status=RuntimeBackendStatus.SUPPORTED,
        isolation_mode=RuntimeIsolationMode.USER_NAMESPACE,
        install_burden=RuntimeInstallBurden.SYSTEM_INSTALLED,
        runtime_profiles=(RuntimeProfile.SANDBOXED_OCI_V1,),
        executor_providers=("sandboxed-command",),
        executors=(executor,),
        conformance_profiles=("distroless-static-v1",),
        evidence=RuntimeBackendEvidence(
            digest=DIGEST_C,
            workspace=True,
            network=True,
            env=True,
            proof=True,
            cleanup=True,
        ),
        generated_at=GENERATED,
    )


SUPPORTED_JSON = (
    '{"protocol_version":"compute.v1alpha1","backend_id":"podman-rootless",'
    '"family":"podman","tool":"podman","version":"5.0.0","os":"linux",'
    '"arch":"amd64","status":"supported","isolation_mode":"user-namespace",'
    '"install_burden":"system-installed","runtime_profiles":["sandboxed-oci-v1"],'
    '"executor_providers":["sandboxed-command"],"executors":[{"provider":'
    '"sandboxed-command","version":"5.0.0","execution_security_tier":'
    '"sandboxed-container","proof_tier":"artifact-hash","image_digest":"'
    + DIGEST_A
    + '","rootfs_digest":"'
    + DIGEST_B
    + '"}],"conformance_profiles":["distroless-static-v1"],"evidence":{"digest":"'
    + DIGEST_C
    + '","workspace":true,"network":true,"env":true,"proof":true,"cleanup":true},'
    '"generated_at":"2023-11-14T22:13:20Z"}'
)


def degraded_report() -> RuntimeBackendReport:
    return RuntimeBackendReport(
        backend_id="docker-desktop",
        family=RuntimeBackendFamily.DOCKER,
        tool=ContainerRuntimeTool.DOCKER,
        status=RuntimeBackendStatus.DEGRADED,
        reason="version step failed: daemon <unreachable> & retried",
        isolation_mode=RuntimeIsolationMode.VM_BACKED_CONTAINER,
        evidence=RuntimeBackendEvidence(details=("café",)),
        generated_at=datetime(2023, 11, 14, 22, 13, 20, 5000, tzinfo=UTC),
    )


DEGRADED_JSON = (
    '{"backend_id":"docker-desktop","family":"docker","tool":"docker",'
    '"status":"degraded","reason":"version step failed: daemon \\u003cunreachable'
    '\\u003e \\u0026 retried","isolation_mode":"vm-backed-container",'
    '"evidence":{"details":["café"]},"generated_at":"2023-11-14T22:13:20.005Z"}'
)


def bundle_descriptor() -> ManagedRuntimeBundleDescriptor:
    return ManagedRuntimeBundleDescriptor(
        protocol_version="compute.v1alpha1",
        bundle_id="managed-containerd-linux-amd64",
        family=RuntimeBackendFamily.CONTAINERD,
        tool=ContainerRuntimeTool.NERDCTL,
        version="v2.3.1",
        os="linux",
        arch="amd64",
        artifact_name="nerdctl-full-2.3.1-linux-amd64.tar.gz",
        artifact_digest=DIGEST_A,
        checksum_name="SHA256SUMS",
        checksum_digest=DIGEST_B,
        signature_name="SHA256SUMS.asc",
        signature_digest=DIGEST_C,
        signature_issuer="containerd/nerdctl release",
        signature_key_id="E14F08B8908ED6E8",
        trust_root_digest=DIGEST_D,
        signature_subject=ManagedRuntimeSignatureSubject(
            artifact_digest=DIGEST_A,
            runtime_family="containerd",
            os="linux",
            arch="amd64",
            version="v2.3.1",
            channel="stable",
            conformance_profile="distroless-static-v1",
            scoped_store_policy_digest=DIGEST_D,
        ),
        valid_until=datetime(2026, 12, 31, tzinfo=UTC),
        update_policy=ManagedRuntimeUpdatePolicy(
            channel="stable", min_supported_version="v2.3.1"
        ),
        cve_policy=ManagedRuntimeCVEPolicy(
            policy_digest=DIGEST_B,
            revoked_key_ids=("OLDKEY",),
            updated_by_version="v2.3.1",
        ),
        scoped_store=ManagedRuntimeScopedStorePolicy(
            required=True,
            namespace_strategy="opaque-worker-pool-scope",
            store_strategy="workflow-owned-content-store",
            policy_digest=DIGEST_D,
            cleanup_required=True,
            host_global_visibility_forbidden=True,
        ),
        supported_targets=(ManagedRuntimeTarget(os="linux", arch="amd64"),),
        conformance_profile="distroless-static-v1",
        install_burden=RuntimeInstallBurden.BUNDLED,
    )


BUNDLE_JSON = (
    '{"protocol_version":"compute.v1alpha1",'
    '"bundle_id":"managed-containerd-linux-amd64","family":"containerd",'
    '"tool":"nerdctl","version":"v2.3.1","os":"linux","arch":"amd64",'
    '"artifact_name":"nerdctl-full-2.3.1-linux-amd64.tar.gz",'
    f'"artifact_digest":"{DIGEST_A}","checksum_name":"SHA256SUMS",'
    f'"checksum_digest":"{DIGEST_B}","signature_name":"SHA256SUMS.asc",'
    f'"signature_digest":"{DIGEST_C}",'
    '"signature_issuer":"containerd/nerdctl release",'
    f'"signature_key_id":"E14F08B8908ED6E8","trust_root_digest":"{DIGEST_D}",'
    f'"signature_subject":{{"artifact_digest":"{DIGEST_A}",'
    '"runtime_family":"containerd","os":"linux","arch":"amd64",'
    '"version":"v2.3.1","channel":"stable",'
    '"conformance_profile":"distroless-static-v1",'
    f'"scoped_store_policy_digest":"{DIGEST_D}"}},'
    '"valid_until":"2026-12-31T00:00:00Z",'
    '"update_policy":{"channel":"stable","min_supported_version":"v2.3.1"},'
    f'"cve_policy":{{"policy_digest":"{DIGEST_B}","revoked_key_ids":["OLDKEY"],'
    '"updated_by_version":"v2.3.1"},'
    '"scoped_store":{"required":true,'
    '"namespace_strategy":"opaque-worker-pool-scope",'
    '"store_strategy":"workflow-owned-content-store",'
    f'"policy_digest":"{DIGEST_D}","cleanup_required":true,'
    '"host_global_visibility_forbidden":true},'
    '"supported_targets":[{"os":"linux","arch":"amd64"}],'
    '"conformance_profile":"distroless-static-v1","install_burden":"bundled"}'
)


def test_dumps_supported_report() -> None:
    assert dumps(supported_report()) == SUPPORTED_JSON


def test_dumps_degraded_report() -> None:
    assert dumps(degraded_report()) == DEGRADED_JSON


def test_dumps_report_with_bundle() -> None:
    report = attrs.evolve(
        supported_report(),
        install_burden=RuntimeInstallBurden.BUNDLED,
        bundle=bundle_descriptor(),
    )
    expected = SUPPORTED_JSON.replace("system-installed", "bundled").replace(
        ',"generated_at"', ',"bundle":' + BUNDLE_JSON + ',"generated_at"'
    )

    assert dumps(report) == expected


def test_dumps_bundle_nil_targets_as_null() -> None:
    """A descriptor without targets writes null, like Go's nil slice."""
    bundle = attrs.evolve(bundle_descriptor(), supported_targets=None)

    assert '"supported_targets":null,' in dumps(bundle)


def test_dumps_bundle_empty_targets_as_array() -> None:
    bundle = attrs.evolve(bundle_descriptor(), supported_targets=())

    assert '"supported_targets":[],' in dumps(bundle)


def test_dumps_unset_enum_and_time_as_go_zero() -> None:
    """Fields without omit are written as Go's zero values when unset."""
    text = dumps(ManagedRuntimeBundleDescriptor())

    assert '"family":"",' in text
    assert '"install_burden":""}' in text
    assert '"tool"' not in text
    assert '"valid_until"' not in text
    assert '"scoped_store":{"required":false,' in text


def test_dumps_indent_layout() -> None:
    report = RuntimeBackendReport(
        backend_id="nerdctl-containerd",
        family=RuntimeBackendFamily.NERDCTL,
        status=RuntimeBackendStatus.UNSUPPORTED,
        reason="not installed",
        isolation_mode=RuntimeIsolationMode.SHARED_KERNEL_CONTAINER,
        runtime_profiles=(RuntimeProfile.SANDBOXED_OCI_V1,),
        evidence=RuntimeBackendEvidence(workspace=True),
        generated_at=GENERATED,
    )
    expected = """{
  "backend_id": "nerdctl-containerd",
  "family": "nerdctl",
  "status": "unsupported",
  "reason": "not installed",
  "isolation_mode": "shared-kernel-container",
  "runtime_profiles": [
    "sandboxed-oci-v1"
  ],
  "evidence": {
    "workspace": true
  },
  "generated_at": "2023-11-14T22:13:20Z"
}"""

    assert dumps(report, indent=True) == expected


def test_dumps_indent_empty_containers_stay_compact() -> None:
    assert dumps({"a": [], "b": {}}, indent=True) == '{\n  "a": [],\n  "b": {}\n}'


@attrs.frozen
class _Zeroable:
    items: tuple[str, ...] | None = None
    name: str = ""


@attrs.frozen
class _Holder:
    inner: _Zeroable = attrs.field(default=_Zeroable(), metadata={"omit": "zero"})
    env: dict[str, str] = attrs.field(factory=dict, metadata={"go_map": True})
    raw: bytes = b""


def test_dumps_omitzero_keeps_struct_with_empty_slice() -> None:
    """An empty non-nil slice makes a struct non-zero, as in Go 1.24 omitzero."""
    assert dumps(_Holder()) == '{"env":{},"raw":""}'
    assert dumps(_Holder(inner=_Zeroable(items=()))).startswith(
        '{"inner":{"items":[],"name":""}'
    )


def test_dumps_go_map_keys_sorted() -> None:
    holder = _Holder(env={"b": "2", "a": "1", "B": "3"}, raw=b"\x00\xff")

    assert dumps(holder) == '{"env":{"B":"3","a":"1","b":"2"},"raw":"AP8="}'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<>&", '"\\u003c\\u003e\\u0026"'),
        ("\u2028\u2029", '"\\u2028\\u2029"'),
        ('q"b\\', '"q\\"b\\\\"'),
        ("\n\r\t\b\f", '"\\n\\r\\t\\b\\f"'),
        ("\x00\x1f\x7f", '"\\u0000\\u001f\x7f"'),
        ("é日😀", '"é日😀"'),
        ("\ud800", '"\ufffd"'),
    ],
    ids=[
        "html",
        "line-separators",
        "quote-backslash",
        "short",
        "control",
        "utf8",
        "surrogate",
    ],
)
def test_dumps_string_escapes(text: str, expected: str) -> None:
    assert dumps(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.5, "1.5"),
        (100.0, "100"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (0.000001, "0.000001"),
        (0.0000001, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (-0.00012, "-0.00012"),
    ],
    ids=[
        "fraction",
        "integral",
        "below-1e21",
        "1e21",
        "1e-6",
        "1e-7",
        "mantissa",
        "neg",
    ],
)
def test_dumps_floats_like_go(value: float, expected: str) -> None:
    assert dumps(value) == expected


def test_dumps_rejects_nan() -> None:
    with pytest.raises(ValueError, match="nan"):
        dumps(float("nan"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC), "2023-01-02T03:04:05Z"),
        (datetime(2023, 1, 2, 3, 4, 5, 120000, tzinfo=UTC), "2023-01-02T03:04:05.12Z"),
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00Z"),
        (
            datetime(
                2023, 1, 2, 3, 4, 5, tzinfo=timezone(-timedelta(hours=5, minutes=30))
            ),
            "2023-01-02T03:04:05-05:30",
        ),
    ],
    ids=["utc", "fraction-trimmed", "zero", "offset"],
)
def test_format_time_rfc3339(value: datetime, expected: str) -> None:
    assert format_time(value) == expected


def test_format_time_rejects_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_time(datetime(2023, 1, 1))


def test_loads_rejects_trailing_data() -> None:
    with pytest.raises(DocumentError, match="extra data") as info:
        loads('{"a":1} {"b":2}', document="runtime backend report")

    assert info.value.document == "runtime backend report"


def test_loads_rejects_nan_constant() -> None:
    with pytest.raises(DocumentError, match="'NaN' is not a JSON number"):
        loads("[NaN]", document="evidence")


def test_loads_replaces_invalid_utf8() -> None:
    assert loads(b'["a\xffb"]', document="evidence") == ["a\ufffdb"]


def test_loads_accepts_surrounding_whitespace() -> None:
    assert loads(' \n{"a":[1,2.5,null,true]}\n', document="x") == {
        "a": [1, 2.5, None, True]
    }


# Written by Go's json.Marshal for a report whose enum, slices, pointer and
# evidence were left at their zero values (no omitempty on family).
GO_ZERO_REPORT = (
    '{"backend_id":"podman-rootless","family":"","status":"unsupported",'
    '"reason":"podman not found","isolation_mode":"user-namespace",'
    '"runtime_profiles":null,"executors":null,"bundle":null,'
    '"generated_at":"2023-11-14T22:13:20.123456789Z"}'
)


def test_roundtrip_supported_round_trip() -> None:
    report = structure_json(SUPPORTED_JSON, RuntimeBackendReport, document="report")

    assert report == supported_report()
    assert dumps(report) == SUPPORTED_JSON


def test_roundtrip_degraded_round_trip() -> None:
    report = structure_json(DEGRADED_JSON, RuntimeBackendReport, document="report")

    assert report == degraded_report()
    assert dumps(report) == DEGRADED_JSON


def test_roundtrip_bundle_round_trip() -> None:
    bundle = structure_json(
        BUNDLE_JSON, ManagedRuntimeBundleDescriptor, document="bundle"
    )

    assert bundle == bundle_descriptor()
    assert dumps(bundle) == BUNDLE_JSON


def test_roundtrip_go_zero_values() -> None:
    """Go's "" enums, null slices and pointers read back as unset values."""
    report = structure_json(GO_ZERO_REPORT, RuntimeBackendReport, document="report")

    assert report.family is None
    assert report.runtime_profiles == ()
    assert report.executors == ()
    assert report.bundle is None


def test_roundtrip_nanoseconds_truncated() -> None:
    report = structure_json(GO_ZERO_REPORT, RuntimeBackendReport, document="report")

    assert report.generated_at == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)


def test_roundtrip_zero_time_is_none() -> None:
    text = BUNDLE_JSON.replace("2026-12-31T00:00:00Z", "0001-01-01T00:00:00Z")

    bundle = structure_json(text, ManagedRuntimeBundleDescriptor, document="bundle")

    assert bundle.valid_until is None


def test_roundtrip_null_targets_kept_as_none() -> None:
    text = BUNDLE_JSON.replace('[{"os":"linux","arch":"amd64"}]', "null")

    bundle = structure_json(text, ManagedRuntimeBundleDescriptor, document="bundle")

    assert bundle.supported_targets is None


def test_roundtrip_html_escapes_decoded() -> None:
    report = structure_json(DEGRADED_JSON, RuntimeBackendReport, document="report")

    assert report.reason == "version step failed: daemon <unreachable> & retried"
