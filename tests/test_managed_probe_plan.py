"""Tests of managed probe plans: health gating, target filtering and nerdctl setup."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import bundle_fixtures
from bundle_fixtures import (
    SEED_BUNDLE_ID,
    GnuPG,
    GpgKey,
    ObjectServer,
    Release,
    catalog_document,
    make_release,
    write_catalog,
)
from wfc_container.bundles._catalog import load_bundle_catalog
from wfc_container.bundles._install import install_bundle
from wfc_container.bundles._probe import plan_managed_probes
from wfc_container.probes._hostinfo import host_arch, host_os

pytestmark = pytest.mark.skipif(
    (host_os(), host_arch()) != ("linux", "amd64"), reason="plans only host bundles"
)
SCOPE = "wfcompute-06d10e1aef1733a0"

# The shared GnuPG, release and mirror fixtures, made visible to this module.
gnupg = bundle_fixtures.gnupg
release_key = bundle_fixtures.release_key
release = bundle_fixtures.release
object_server = bundle_fixtures.object_server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def installed(
    tmp_path: Path, release: Release, object_server: ObjectServer
) -> Path:
    document = catalog_document(release, base_url=object_server.base_url)
    catalog = write_catalog(tmp_path / "catalog.json", document)
    await install_bundle(
        load_bundle_catalog(catalog),
        SEED_BUNDLE_ID,
        tmp_path / "managed",
        target_os="linux",
        target_arch="amd64",
    )
    return catalog


def now() -> datetime:
    return datetime.now(UTC)


async def test_plan_healthy_install(tmp_path: Path, installed: Path) -> None:
    root = tmp_path / "managed" / SEED_BUNDLE_ID

    plans = plan_managed_probes(
        installed, tmp_path / "managed", now=now(), containerd_address="/run/c.sock"
    )

    assert len(plans) == 1
    plan = plans[0]
    definition = plan.definition
    assert plan.blocked_reason is None
    assert plan.state["status"] == "ok"
    assert definition.backend_id == SEED_BUNDLE_ID
    assert definition.executable == str(root / "bin/nerdctl")
    assert definition.scope_args == ("--namespace", SCOPE)
    assert definition.conformance_profiles == ("distroless-static-v1",)
    assert definition.install_burden == "bundled"
    assert definition.isolation_mode == "user-namespace"
    assert definition.bundle is not None
    assert dict(definition.extra_env) == {
        "CNI_PATH": str(root / "libexec/cni"),
        "CONTAINERD_ADDRESS": "/run/c.sock",
    }


async def test_plan_blocks_tampered_install(tmp_path: Path, installed: Path) -> None:
    command = tmp_path / "managed" / SEED_BUNDLE_ID / "bin/nerdctl"
    command.write_text("#!/bin/sh\necho tampered\n")

    (plan,) = plan_managed_probes(installed, tmp_path / "managed", now=now())

    assert plan.blocked_reason == (
        "managed install degraded: file digest mismatch for 'bin/nerdctl'"
    )
    assert plan.state["status"] == "degraded"
    assert "CONTAINERD_ADDRESS" not in plan.definition.extra_env


async def test_plan_blocks_missing_install(tmp_path: Path, installed: Path) -> None:
    (plan,) = plan_managed_probes(installed, tmp_path / "elsewhere", now=now())

    assert plan.blocked_reason == "managed install missing: bundle root is missing"
    assert plan.state["status"] == "missing"


async def test_plan_blocks_expired_catalog(tmp_path: Path, installed: Path) -> None:
    later = now() + timedelta(days=365)

    (plan,) = plan_managed_probes(installed, tmp_path / "managed", now=later)

    assert plan.blocked_reason is not None
    assert plan.blocked_reason.startswith("managed install degraded: catalog policy")
    assert "valid_until" in plan.blocked_reason


def test_plan_skips_other_targets(
    tmp_path: Path, gnupg: GnuPG, release_key: GpgKey
) -> None:
    """Only the artifact's own os/arch counts, whatever supported_targets claims."""
    arm = make_release(gnupg, release_key, arch="arm64")
    document = catalog_document(arm, base_url="http://127.0.0.1:9")
    bundle = document["bundles"][0]  # type: ignore[index]
    bundle["supported_targets"].append({"os": "linux", "arch": "amd64"})
    catalog = write_catalog(tmp_path / "catalog.json", document)

    assert plan_managed_probes(catalog, tmp_path / "managed", now=now()) == []


def test_plan_imports_no_download_stack() -> None:
    code = (
        "import sys, wfc_container.bundles._probe\n"
        "print(sorted(m for m in ('aiohttp', 'pysequoia') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=True, text=True
    )

    assert json.loads(done.stdout.replace("'", '"')) == []
