"""Bundled (managed) backends in the engine: bundle checks and scope evidence."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest

from runtime_fakes import NERDCTL_JSON, write_runtime
from wfc_container import (
    ContainerRuntimeTool,
    ManagedRuntimeBundleDescriptor,
    RuntimeBackendFamily,
    RuntimeBackendStatus,
    RuntimeInstallBurden,
    RuntimeIsolationMode,
)
from wfc_container._report_rules import validate_report
from wfc_container._resources import catalog_path
from wfc_container.bundles._catalog import load_bundle_catalog
from wfc_container.probes import BackendDefinition, ProbeTimeouts, probe_backend
from wfc_container.probes._claims import scope_name

NOW = datetime(2026, 12, 4, tzinfo=UTC)
SCOPE = "wfcompute-06d10e1aef1733a0"


@pytest.fixture
def bundle() -> ManagedRuntimeBundleDescriptor:
    catalog = load_bundle_catalog(catalog_path("managed-runtime-bundles.json"))
    assert catalog.bundles
    return catalog.bundles[0]


def managed(
    executable: str, bundle: ManagedRuntimeBundleDescriptor | None
) -> BackendDefinition:
    return BackendDefinition(
        backend_id="managed-containerd-linux-amd64",
        family=RuntimeBackendFamily.CONTAINERD,
        tool=ContainerRuntimeTool.NERDCTL,
        executable=executable,
        isolation_mode=RuntimeIsolationMode.USER_NAMESPACE,
        install_burden=RuntimeInstallBurden.BUNDLED,
        conformance_profiles=("distroless-static-v1",),
        scope_args=("--namespace", SCOPE),
        bundle=bundle,
    )


def environ(bin_dir: Path) -> dict[str, str]:
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(bin_dir.parent)}


def test_scope_name_matches_go_vector() -> None:
    assert scope_name("managed-containerd-linux-amd64", "distroless-static-v1") == SCOPE


async def test_managed_supported_with_scope_evidence(
    tmp_path: Path, bundle: ManagedRuntimeBundleDescriptor
) -> None:
    nerdctl = write_runtime(
        tmp_path / "root" / "bin", "nerdctl", version_json=NERDCTL_JSON
    )
    outcome = await probe_backend(
        managed(str(nerdctl), bundle),
        environ=environ(tmp_path),
        now=NOW,
        timeouts=ProbeTimeouts(run=10),
    )
    report = outcome.report
    assert report.status is RuntimeBackendStatus.SUPPORTED, report.reason
    assert report.install_burden is RuntimeInstallBurden.BUNDLED
    assert report.bundle == bundle
    assert report.version == bundle.version
    assert f"runtime-scope:{SCOPE}" in report.evidence.details
    validate_report(report, now=NOW)
    run = next(s.argv for s in outcome.diagnostics.steps if "run" in s.argv)
    assert run[1:3] == ("--namespace", SCOPE)
    assert f"WFCOMPUTE_RUNTIME_SCOPE={SCOPE}" in run
    joined = " ".join(run)
    assert "pool" not in joined
    assert "worker" not in joined


async def test_managed_without_scope_detail_degrades(
    tmp_path: Path, bundle: ManagedRuntimeBundleDescriptor
) -> None:
    evidence = (
        'printf \'{"digest":"sha256:%s","workspace":true,"network":true,'
        '"env":true,"proof":true,"cleanup":true,'
        '"details":["read-only-rootfs:verified"]}\\n\''
        ' "$(sha256sum "$(echo "$@" | sed \'s/.*-v \\([^:]*\\):.*/\\1/\')/'
        ".wfcompute-probe-nonce\" | cut -d' ' -f1)\""
    )
    nerdctl = write_runtime(
        tmp_path / "root" / "bin",
        "nerdctl",
        version_json=NERDCTL_JSON,
        run_body=evidence,
    )
    report = (
        await probe_backend(
            managed(str(nerdctl), bundle), environ=environ(tmp_path), now=NOW
        )
    ).report
    assert report.status is RuntimeBackendStatus.DEGRADED
    assert report.reason == (
        "evidence step: evidence incomplete: missing managed runtime scope evidence"
    )
    assert report.bundle == bundle
    assert report.executors == ()


async def test_managed_without_bundle_is_unsupported(tmp_path: Path) -> None:
    report = (
        await probe_backend(
            managed("/opt/none/bin/nerdctl", None), environ=environ(tmp_path)
        )
    ).report
    assert report.status is RuntimeBackendStatus.UNSUPPORTED
    assert (
        report.reason
        == "bundle step: managed runtime unavailable: no bundle in the definition"
    )
    assert report.executors == ()
    validate_report(report)


async def test_managed_relative_executable_is_unsupported(
    tmp_path: Path, bundle: ManagedRuntimeBundleDescriptor
) -> None:
    report = (
        await probe_backend(
            managed("bin/nerdctl", bundle), environ=environ(tmp_path), now=NOW
        )
    ).report
    assert report.status is RuntimeBackendStatus.UNSUPPORTED
    assert "executable path is not absolute" in report.reason


async def test_managed_expired_bundle_is_degraded(
    tmp_path: Path, bundle: ManagedRuntimeBundleDescriptor
) -> None:
    expired = attrs.evolve(bundle, valid_until=datetime(2026, 1, 1, tzinfo=UTC))
    nerdctl = write_runtime(
        tmp_path / "root" / "bin", "nerdctl", version_json=NERDCTL_JSON
    )
    report = (
        await probe_backend(
            managed(str(nerdctl), expired), environ=environ(tmp_path), now=NOW
        )
    ).report
    assert report.status is RuntimeBackendStatus.DEGRADED
    assert report.reason == (
        "bundle step: managed runtime bundle invalid: valid_until must be in the future"
    )
