"""
Real probes through the engine: Podman and Docker concurrently, nerdctl via ctr.

nerdctl runs as the test double in ``tests/doubles``, which drives the real
containerd with ctr; the managed path uses the catalog's bundle descriptor
with that double as its executable.
"""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from pathlib import Path

import attrs
import pytest

from fakes import write_fake
from real_fixtures import (
    MANAGED_NAMESPACE,
    NERDCTL_DOUBLE,
    container_names,
    loaded_image,
    probe_archive,
    require_tool,
)
from wfc_container import (
    ContainerRuntimeTool,
    RuntimeBackendFamily,
    RuntimeBackendReport,
    RuntimeBackendStatus,
    RuntimeInstallBurden,
    RuntimeIsolationMode,
)
from wfc_container.bundles._catalog import load_bundle_catalog
from wfc_container.probes import (
    DOCKER,
    NERDCTL,
    PODMAN,
    BackendDefinition,
    probe_all,
    probe_backend,
)

pytestmark = pytest.mark.real
__all__ = ("loaded_image", "probe_archive")  # fixtures used by name below

CATALOG = Path(__file__).parents[1] / "catalogs" / "managed-runtime-bundles.json"


def _client_version(tool: str) -> str:
    result = subprocess.run(
        [require_tool(tool), "version", "--format", "{{.Client.Version}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def _live_processes_naming(names: set[str]) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(name in cmdline for name in names):
            found.append(f"{entry.name}: {cmdline}")
    return found


def _logging_wrappers(directory: Path) -> Path:
    # Each wrapper logs its arguments, then runs the real runtime, so the test
    # learns the container names the probe chose without guessing from ps output
    # that other runs on the machine may share.
    for tool in ("podman", "docker"):
        real = require_tool(tool)
        log_line = f'printf "%s\\n" "$*" >> "{directory}/{tool}.log"'
        write_fake(directory, tool, f'{log_line}\nexec {real} "$@"')
    return directory


def _container_names_used(directory: Path, tool: str) -> set[str]:
    names = set()
    for line in (directory / f"{tool}.log").read_text().splitlines():
        words = line.split()
        if "run" in words and "--name" in words:
            names.add(words[words.index("--name") + 1])
    return names


def _children_of(pid: int) -> list[str]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(entry.name)
    return children


def _assert_supported(report: RuntimeBackendReport) -> None:
    assert report.status is RuntimeBackendStatus.SUPPORTED, report.reason
    evidence = report.evidence
    assert evidence is not None
    flags = [evidence.workspace, evidence.network, evidence.env, evidence.proof]
    assert [*flags, evidence.cleanup] == [True] * 5
    assert evidence.digest.startswith("sha256:")
    assert "read-only-rootfs:verified" in evidence.details
    assert report.executors != ()


async def test_real_probe_all_supported(
    loaded_image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrappers = _logging_wrappers(tmp_path / "bin")
    versions = {tool: _client_version(tool) for tool in ("podman", "docker")}
    monkeypatch.setenv("PATH", f"{wrappers}:{os.environ['PATH']}")

    report = await probe_all()

    by_id = {r.backend_id: r for r in report.reports}
    _assert_supported(by_id[PODMAN.backend_id])
    _assert_supported(by_id[DOCKER.backend_id])
    assert by_id[PODMAN.backend_id].version == versions["podman"]
    assert by_id[DOCKER.backend_id].version == versions["docker"]
    used: set[str] = set()
    for tool in ("podman", "docker"):
        names = _container_names_used(wrappers, tool)
        assert len(names) == 1
        listing = [tool, "ps", "-a", "--format", "{{.Names}}"]
        assert names & set(container_names(listing)) == set()
        used |= names
    assert _live_processes_naming(used) == []
    assert _children_of(os.getpid()) == []


async def test_real_probe_nerdctl_double(loaded_image: str) -> None:
    definition = attrs.evolve(NERDCTL, executable=str(NERDCTL_DOUBLE))

    report = await probe_all(backends=[definition])

    _assert_supported(report.reports[0])
    assert report.reports[0].version == "0.0.0-ctr-test-double"
    assert container_names([str(NERDCTL_DOUBLE), "ps", "-a", "-q"]) == []


async def test_real_probe_managed_namespace(loaded_image: str) -> None:
    bundles = load_bundle_catalog(CATALOG).bundles
    assert bundles
    bundle = bundles[0]
    definition = BackendDefinition(
        backend_id=bundle.bundle_id,
        family=RuntimeBackendFamily.CONTAINERD,
        tool=ContainerRuntimeTool.NERDCTL,
        executable=str(NERDCTL_DOUBLE),
        isolation_mode=RuntimeIsolationMode.USER_NAMESPACE,
        install_burden=RuntimeInstallBurden.BUNDLED,
        scope_args=("--namespace", MANAGED_NAMESPACE),
        bundle=bundle,
    )

    # Probe at a time the shipped catalog is valid: it fails closed after its
    # valid_until, which a test run on a later date must not turn into a failure.
    assert bundle.valid_until is not None
    outcome = await probe_backend(
        definition, now=bundle.valid_until - timedelta(days=1)
    )

    report = outcome.report
    _assert_supported(report)
    assert report.evidence is not None
    assert f"runtime-scope:{MANAGED_NAMESPACE}" in report.evidence.details
    assert report.version == bundle.version
    listing = [str(NERDCTL_DOUBLE), "--namespace", MANAGED_NAMESPACE, "ps", "-a", "-q"]
    assert container_names(listing) == []


# Each wrapper runs the real runtime with one piece of the conformance argv changed.
WRAPPERS = {
    "no-read-only": 'case "$a" in --read-only) continue ;; esac',
    "host-network": '[ "$a" = none ] && a=host',
    "no-probe-env": 'case "$a" in WFCOMPUTE_RUNTIME_PROBE=1) a=UNRELATED=1 ;; esac',
    "no-mount": (
        '[ "$skip" = 1 ] && { skip=0; continue; }\n  '
        '[ "$a" = -v ] && { skip=1; continue; }'
    ),
}


@pytest.mark.parametrize("tool", ["podman", "docker"])
@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("no-read-only", "read-only root not verified"),
        ("host-network", "missing network"),
        ("no-probe-env", "missing env"),
        ("no-mount", "missing workspace, missing proof"),
    ],
)
async def test_real_probe_degraded(
    loaded_image: str, tmp_path: Path, tool: str, change: str, reason: str
) -> None:
    real = require_tool(tool)
    script = (
        "for a do\n  shift\n  "
        + WRAPPERS[change]
        + '\n  set -- "$@" "$a"\ndone\n'
        + f'exec {real} "$@"'
    )
    wrapper = write_fake(tmp_path / "bin", tool, script)
    builtin = PODMAN if tool == "podman" else DOCKER
    definition = attrs.evolve(builtin, executable=str(wrapper))

    outcome = await probe_backend(definition)

    assert outcome.report.status is RuntimeBackendStatus.DEGRADED
    assert reason in (outcome.report.reason or "")
    assert outcome.report.executors == ()
