"""probe_all: concurrency, hung runtimes, endpoints and the aggregate report."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import anyio
import attrs
import jsonschema
import pytest

from fakes import write_fake
from runtime_fakes import DOCKER_JSON, PODMAN_JSON, runtime_script, write_runtime
from wfc_container import ProbeConfigError, RuntimeBackendStatus
from wfc_container._gojson import dumps
from wfc_container.probes import (
    BUILTIN_BACKENDS,
    DOCKER,
    NERDCTL,
    PODMAN,
    ProbeTimeouts,
    probe_all,
)

NOW = datetime(2026, 12, 4, tzinfo=UTC)
SCHEMA = Path(__file__).parent.parent / "schemas" / "agent-report.schema.json"


def hang_script() -> tuple[str, str]:
    """Return a script that hangs in a grandchild, and the grandchild's unique marker."""
    seconds = f"3600.{os.getpid()}{next(_COUNTER)}"
    return f"sleep {seconds} & wait\n", f"sleep {seconds}"


_COUNTER = iter(range(1, 1_000_000))


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    path = tmp_path / "bin"
    path.mkdir()
    return path


def environ(bin_dir: Path, **extra: str) -> dict[str, str]:
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(bin_dir.parent), **extra}


def processes_with(marker: str) -> list[str]:
    """Return the command lines of live processes whose arguments contain ``marker``."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\x00", b" ").decode()
            with open(f"/proc/{pid}/stat") as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(cmdline)
    return found


async def test_hung_docker_times_out_while_others_finish(bin_dir: Path) -> None:
    """FC-08: a docker that never returns is killed with its whole group."""
    hang, marker = hang_script()
    write_fake(bin_dir, "docker", hang)
    write_runtime(bin_dir, "podman", version_json=PODMAN_JSON)
    report = await probe_all(
        backends=(PODMAN, DOCKER),
        environ=environ(bin_dir),
        timeouts=ProbeTimeouts(version=1, run=10),
        now=NOW,
    )
    podman, docker = report.reports
    assert podman.status is RuntimeBackendStatus.SUPPORTED, podman.reason
    assert docker.status is RuntimeBackendStatus.DEGRADED
    assert docker.reason == "timed out in version step after 1 s"
    assert processes_with(marker) == []


async def test_slow_run_keeps_version_and_names_step(bin_dir: Path) -> None:
    """FC-09: the report names the step that timed out and keeps earlier facts."""
    log = bin_dir.parent / "docker.log"
    docker_hang, docker_marker = hang_script()
    podman_hang, podman_marker = hang_script()
    write_runtime(
        bin_dir, "docker", version_json=DOCKER_JSON, run_body=docker_hang, log=log
    )
    write_fake(bin_dir, "podman", podman_hang)
    report = await probe_all(
        backends=(PODMAN, DOCKER),
        environ=environ(bin_dir),
        timeouts=ProbeTimeouts(version=1, run=1),
        now=NOW,
    )
    podman, docker = report.reports
    assert podman.reason == "timed out in version step after 1 s"
    assert docker.reason == "timed out in run step after 1 s"
    assert docker.version == "27.3.1"
    calls = log.read_text().splitlines()
    run_call = next(c for c in calls if c.startswith("run "))
    name = run_call.split("--name ")[1].split()[0]
    assert f"rm -f {name}" in calls
    assert processes_with(docker_marker) == []
    assert processes_with(podman_marker) == []


async def test_docker_context_is_named(bin_dir: Path, tmp_path: Path) -> None:
    """FC-10: the endpoint of the current context is reported, not the default."""
    config = tmp_path / "docker"
    meta = (
        config / "contexts" / "meta"
        / "4573a839ffe27bbd6a9305d6ea6617b7332a5cb8659fbfdc256fe917eda0a79e"
    )  # fmt: skip
    meta.mkdir(parents=True)
    (config / "config.json").write_text('{"currentContext":"rd"}')
    host = f"unix://{tmp_path}/rd.sock"
    (meta / "meta.json").write_text(
        json.dumps(
            {"Name": "rd", "Metadata": {}, "Endpoints": {"docker": {"Host": host}}}
        )
    )
    guard = '[ -n "$DOCKER_CONFIG" ] || { echo "no DOCKER_CONFIG" >&2; exit 1; }\n'
    write_fake(bin_dir, "docker", guard + runtime_script(version_json=DOCKER_JSON))
    report = await probe_all(
        backends=(DOCKER,),
        environ=environ(bin_dir, DOCKER_CONFIG=str(config)),
        now=NOW,
    )
    assert report.reports[0].status is RuntimeBackendStatus.SUPPORTED
    diagnostics = report.diagnostics[0]
    assert diagnostics.context == "rd"
    assert diagnostics.endpoint == host


async def test_agent_report_matches_schema(bin_dir: Path) -> None:
    write_runtime(bin_dir, "podman", version_json=PODMAN_JSON)
    write_runtime(bin_dir, "docker", version_json=DOCKER_JSON)
    report = await probe_all(environ=environ(bin_dir), now=NOW)
    document = json.loads(dumps(report))
    jsonschema.validate(document, json.loads(SCHEMA.read_text()))
    assert document["counts"] == {"supported": 2, "degraded": 0, "unsupported": 1}
    assert [r["backend_id"] for r in document["reports"]] == [
        d.backend_id for d in BUILTIN_BACKENDS
    ]
    assert document["executor_providers"] == [
        "sandboxed-command",
        "sandboxed-container-build",
    ]
    preferred = {
        p["runtime_profile"]: p["backend_id"] for p in document["preferred_backends"]
    }
    # Rootful podman and Docker Engine share the kernel alike: probe order decides.
    assert preferred == {
        "sandboxed-oci-v1": "podman-rootless",
        "container-build-v1": "podman-rootless",
    }


async def test_schema_rejects_report_without_counts(bin_dir: Path) -> None:
    report = await probe_all(backends=(NERDCTL,), environ=environ(bin_dir), now=NOW)
    document = json.loads(dumps(report))
    del document["counts"]
    with pytest.raises(jsonschema.ValidationError, match="'counts' is a required"):
        jsonschema.validate(document, json.loads(SCHEMA.read_text()))


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"image": "--privileged"}, "image"),
        ({"timeout": 0}, "step timeout"),
        ({"timeouts": ProbeTimeouts(run=-1)}, "step timeout"),
        (
            {"backends": (PODMAN, attrs.evolve(DOCKER, backend_id="podman-rootless"))},
            "backend_id",
        ),
    ],
    ids=["flag-image", "zero-timeout", "negative-run", "duplicate-id"],
)
async def test_probe_all_rejects_bad_settings(
    bin_dir: Path, options: dict[str, object], field: str
) -> None:
    with pytest.raises(ProbeConfigError) as caught:
        await probe_all(environ=environ(bin_dir), **options)  # type: ignore[arg-type]
    assert caught.value.field == field


async def test_run_timeout_removes_late_created_container(
    bin_dir: Path, tmp_path: Path
) -> None:
    """A container the daemon creates after the client was killed is still removed."""
    store = tmp_path / "containers"
    store.mkdir()
    created = tmp_path / "created"
    # "run" starts a detached "daemon" that creates the named container 0.4 s
    # later, then hangs. "rm -f" removes it if it exists and prints its name,
    # like docker.
    run = f"""
name=""; prev=""
for a in "$@"; do [ "$prev" = --name ] && name="$a"; prev="$a"; done
setsid sh -c 'sleep 0.4; touch {store}/'"$name"'; touch {created}' \
  </dev/null >/dev/null 2>&1 &
sleep 3600 & wait
"""
    remove = f"""
if [ "$1" = rm ]; then
  if [ -e {store}/"$3" ]; then rm {store}/"$3"; echo "$3"; else
    echo "Error response from daemon: No such container: $3" >&2; fi
  exit 0
fi
"""
    write_fake(
        bin_dir,
        "docker",
        remove + runtime_script(version_json=DOCKER_JSON, run_body=run),
    )
    report = await probe_all(
        backends=(DOCKER,),
        environ=environ(bin_dir),
        timeouts=ProbeTimeouts(run=0.2),
        now=NOW,
    )
    assert report.reports[0].reason == "timed out in run step after 0.2 s"
    with anyio.fail_after(5):
        # Another process writes the marker, so there is no event to wait on.
        while not created.exists():  # noqa: ASYNC110
            await anyio.sleep(0.05)
    assert list(store.iterdir()) == []
    steps = report.diagnostics[0].steps
    run_steps = [s for s in steps if s.step == "run" and "--name" in s.argv]
    assert len(run_steps) == 1
    assert run_steps[0].timed_out
    assert run_steps[0].exit_code is None
    cleanups = [s for s in steps if s.step == "cleanup"]
    assert len(cleanups) >= 2
