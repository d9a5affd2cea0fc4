"""
A managed bundle installed from a loopback mirror, then probed through real containerd.

The bundle's ``bin/nerdctl`` wraps the nerdctl test double (nerdctl itself is not
installable here), prints the bundle version for ``--version`` as doctor expects,
and passes every other call to containerd through ``ctr``.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import anyio
import attrs
import pytest

import bundle_fixtures
from bundle_fixtures import (
    SEED_BUNDLE_ID,
    GnuPG,
    GpgKey,
    ObjectServer,
    build_archive,
    catalog_document,
    make_release,
    nerdctl_full_members,
    write_catalog,
)
from real_fixtures import MANAGED_NAMESPACE, NERDCTL_DOUBLE, loaded_image, probe_archive
from wfc_container import RuntimeBackendStatus, validate_report
from wfc_container.bundles import install_bundle, load_bundle_catalog
from wfc_container.probes import probe_all

pytestmark = pytest.mark.real
__all__ = ("loaded_image", "probe_archive")  # fixtures used by name below

gnupg = bundle_fixtures.gnupg
release_key = bundle_fixtures.release_key


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def wrapped_double(version: str) -> bytes:
    script = (
        "#!/bin/sh\n"
        f'if [ "$1" = --version ]; then echo "nerdctl version {version}"; exit 0; fi\n'
        f'exec {sys.executable} {NERDCTL_DOUBLE} "$@"\n'
    )
    return script.encode()


@pytest.fixture
async def installed(
    tmp_path: Path, gnupg: GnuPG, release_key: GpgKey, loaded_image: str
) -> tuple[Path, Path]:
    members = [
        attrs.evolve(m, data=wrapped_double("2.3.1")) if m.name == "bin/nerdctl" else m
        for m in nerdctl_full_members()
    ]
    release = make_release(gnupg, release_key, artifact=build_archive(members))
    root = tmp_path / "runtimes"
    async with ObjectServer() as server:
        server.objects.update(release.objects())
        catalog = write_catalog(
            tmp_path / "catalog.json",
            catalog_document(release, base_url=server.base_url),
        )
        await install_bundle(
            load_bundle_catalog(catalog),
            SEED_BUNDLE_ID,
            root,
            target_os="linux",
            target_arch="amd64",
        )
    return catalog, root


async def test_real_managed_bundle_supported(installed: tuple[Path, Path]) -> None:
    catalog, root = installed
    report = await probe_all(backends=(), catalog=catalog, install_root=root)
    (managed,) = report.reports
    assert managed.status is RuntimeBackendStatus.SUPPORTED, (
        managed.reason,
        report.diagnostics[0],
    )
    assert managed.backend_id == SEED_BUNDLE_ID
    assert managed.bundle is not None
    assert f"runtime-scope:{MANAGED_NAMESPACE}" in managed.evidence.details
    validate_report(managed, now=datetime.now(UTC))
    (state,) = report.bundles
    assert state["status"] == "ok"


async def test_real_managed_tampered_not_run(installed: tuple[Path, Path]) -> None:
    catalog, root = installed
    command = root / SEED_BUNDLE_ID / "bin" / "nerdctl"
    command.write_bytes(command.read_bytes() + b"# changed\n")
    report = await probe_all(backends=(), catalog=catalog, install_root=root)
    (managed,) = report.reports
    assert managed.status is RuntimeBackendStatus.DEGRADED
    assert managed.reason.startswith("bundle step: managed install degraded")
    assert "bin/nerdctl" in managed.reason
    assert report.diagnostics[0].steps == ()


async def test_real_managed_probe_cli(installed: tuple[Path, Path]) -> None:
    catalog, root = installed
    result = await anyio.run_process(
        [
            sys.executable,
            "-m",
            "wfc_container",
            "probe",
            "--backend",
            "podman",
            "--catalog",
            str(catalog),
            "--install-root",
            str(root),
            "--format",
            "json",
        ],
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    document = json.loads(result.stdout)
    statuses = {r["backend_id"]: r["status"] for r in document["reports"]}
    assert statuses[SEED_BUNDLE_ID] == "supported"
    assert document["bundles"][0]["status"] == "ok"
