"""Probe engine behaviour against fake runtime commands (field cases FC-01 to FC-15)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest

from fakes import write_fake
from runtime_fakes import (
    DOCKER_JSON,
    NERDCTL_JSON,
    PODMAN_JSON,
    runtime_script,
    write_runtime,
)
from wfc_container import RuntimeBackendStatus, RuntimeIsolationMode, RuntimeProfile
from wfc_container._meta import PROBE_IMAGE_REFERENCE
from wfc_container._report_rules import validate_report
from wfc_container._textrules import public_text_problems
from wfc_container.probes import (
    DOCKER,
    NERDCTL,
    PODMAN,
    SEED_CONFORMANCE_IMAGE,
    ProbeOutcome,
    ProbeTimeouts,
    probe_all,
    probe_backend,
)

SUPPORTED = RuntimeBackendStatus.SUPPORTED
DEGRADED = RuntimeBackendStatus.DEGRADED
UNSUPPORTED = RuntimeBackendStatus.UNSUPPORTED
NOW = datetime(2026, 12, 4, tzinfo=UTC)
FAST = ProbeTimeouts(find=2, version=5, run=5, evidence=2)


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


async def probe(bin_dir: Path, definition=PODMAN, **kwargs: object) -> ProbeOutcome:  # type: ignore[no-untyped-def]
    options: dict[str, object] = {"timeouts": FAST, "now": NOW}
    options.update(kwargs)
    env = options.pop("environ", environ(bin_dir))
    return await probe_backend(definition, environ=env, **options)  # type: ignore[arg-type]


def run_argv(outcome: ProbeOutcome) -> tuple[str, ...]:
    runs = [s.argv for s in outcome.diagnostics.steps if "run" in s.argv[1:3]]
    assert runs, outcome.diagnostics.steps
    return runs[0]


async def test_podman_supported_with_checked_evidence(bin_dir: Path) -> None:
    write_runtime(bin_dir, "podman", version_json=PODMAN_JSON)
    outcome = await probe(bin_dir)
    report = outcome.report
    assert report.status is SUPPORTED, report.reason
    assert report.version == "5.0.0"
    assert report.executor_providers == (
        "sandboxed-command",
        "sandboxed-container-build",
    )
    assert report.evidence.missing_flags() == ()
    assert report.evidence.details == (
        "read-only-rootfs:verified",
        f"conformance-image:{PROBE_IMAGE_REFERENCE}",
    )
    validate_report(report, now=NOW)


async def test_podman_executor_claims_match_go_vectors(bin_dir: Path) -> None:
    write_runtime(bin_dir, "podman", version_json=PODMAN_JSON)
    executors = (await probe(bin_dir)).report.executors
    command, build = executors
    assert command.image_digest == (
        "sha256:e778f9797ce1c52b461e06542c3128c10d769d2d3000fcc889904f0748e7a84a"
    )
    assert command.rootfs_digest == (
        "sha256:e695911d5cfa8f6f09935b2c47e909549f53aff0be99dba3127bafd67bbdd347"
    )
    assert build.image_digest == (
        "sha256:e345fa222bde462c4d5c88f13d0912e42e844498451a7c9f47e01b529dbe5a2a"
    )
    assert build.rootfs_digest == (
        "sha256:39b226b1f31deb31185246438b0a68c16002b884479cdea94ba9f7a05f3c190e"
    )


async def test_run_argv_keeps_original_order_then_hardening(bin_dir: Path) -> None:
    write_runtime(bin_dir, "podman", version_json=PODMAN_JSON)
    argv = run_argv(await probe(bin_dir, image="example.test/probe:1"))
    assert argv[1:4] == ("run", "--rm", "--name")
    rest = list(argv[5:])
    workspace = rest[3].removesuffix(":/workspace")
    assert rest[:10] == [
        "--network", "none", "-v", f"{workspace}:/workspace", "-w", "/workspace",
        "-e", "WFCOMPUTE_RUNTIME_PROBE=1", "--read-only", "--pull",
    ]  # fmt: skip
    assert rest[10:17] == [
        "never", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--pids-limit", "256",
    ]  # fmt: skip
    assert rest[17:19] == ["--user", f"{os.geteuid()}:{os.getegid()}"]
    assert rest[-2:] == [
        "example.test/probe:1",
        "/usr/local/bin/wfcompute-sandbox-probe",
    ]
    assert not Path(workspace).exists()  # noqa: ASYNC240 - a test assertion


async def test_not_installed_is_unsupported(bin_dir: Path) -> None:
    missing = attrs.evolve(PODMAN, executable="wfc-no-such-runtime")
    report = (await probe(bin_dir, missing)).report
    assert report.status is UNSUPPORTED
    assert (
        report.reason
        == "find step: not installed: no executable 'wfc-no-such-runtime' found"
    )
    assert report.executors == ()
    validate_report(report, now=NOW)


async def test_docker_wrapper_around_podman_is_alias(bin_dir: Path) -> None:
    """FC-01: the podman-docker wrapper is reported as podman, not as Docker."""
    write_runtime(
        bin_dir,
        "podman",
        version_json=PODMAN_JSON,
        short_version="podman version 5.2.3",
    )
    banner = (
        "Emulate Docker CLI using podman. Create /etc/containers/nodocker to quiet msg."
    )
    (bin_dir / "docker").write_text(
        f'#!/bin/sh\necho "{banner}" >&2\nexec podman "$@"\n'
    )
    (bin_dir / "docker").chmod(0o755)
    report = await probe_all(
        backends=(PODMAN, DOCKER), environ=environ(bin_dir), timeouts=FAST, now=NOW
    )
    podman, docker = report.reports
    assert podman.status is SUPPORTED
    assert docker.status is UNSUPPORTED
    assert docker.reason == (
        "version step: alias of another runtime: docker runs podman 5.0.0;"
        " podman is reported once"
    )
    assert report.counts.supported == 1
    assert [(a.backend_id, a.alias_of) for a in report.aliases] == [
        ("docker-desktop", "podman-rootless")
    ]
    assert banner in report.diagnostics[1].notes


async def test_docker_name_with_podman_schema_is_not_too_old(bin_dir: Path) -> None:
    """FC-02: Podman's schema behind the docker name is judged as podman 5.1.0."""
    schema = {"Client": {**PODMAN_JSON["Client"], "Version": "5.1.0"}}
    write_runtime(bin_dir, "docker", version_json=schema)
    report = (await probe(bin_dir, DOCKER)).report
    assert report.status is UNSUPPORTED
    assert "docker runs podman 5.1.0" in report.reason
    assert "old" not in report.reason


async def test_podman_stderr_noise_with_valid_version(bin_dir: Path) -> None:
    """FC-03: ERRO lines on stderr beside a valid stdout version do not fail."""
    noise = "ERRO[0000] Failed to built-in GetDriver graph btrfs /var/lib/containers/storage"
    schema = {"Client": {**PODMAN_JSON["Client"], "Version": "4.6.2"}}
    write_runtime(bin_dir, "podman", version_json=schema, version_stderr=noise)
    outcome = await probe(bin_dir)
    assert outcome.report.status is SUPPORTED
    assert outcome.report.version == "4.6.2"
    assert noise in outcome.diagnostics.notes


async def test_podman_without_subuid_range_stays_degraded(bin_dir: Path) -> None:
    """FC-04: the missing range reaches the report although later steps pass."""
    lines = (
        "ERRO[0000] cannot find mappings for user alice: No subuid ranges found for user"
        ' "alice" in /etc/subuid\nWARN[0000] Using rootless single mapping into the'
        " namespace."
    )
    schema = {"Client": {**PODMAN_JSON["Client"], "Version": "5.2.3"}}
    write_runtime(bin_dir, "podman", version_json=schema, version_stderr=lines)
    outcome = await probe(bin_dir, environ=environ(bin_dir, USER="alice"))
    report = outcome.report
    assert report.status is DEGRADED
    assert report.version == "5.2.3"
    assert report.reason.startswith(
        "version step: rootless setup missing: no subuid/subgid"
    )
    assert report.evidence.missing_flags() == ()
    assert report.executors == ()


@pytest.mark.parametrize(
    ("stdout_json", "stderr", "exit_code"),
    [
        (
            None,
            "FATA[0000] rootless containerd not running? (hint: use"
            " containerd-rootless-setuptool.sh install to start rootless containerd):"
            " stat /run/user/1000/containerd-rootless: no such file or directory",
            1,
        ),
        (
            {"Client": NERDCTL_JSON["Client"]},
            'time="2026-12-04T10:00:00Z" level=warning msg="failed to inspect the'
            ' rootless containerd socket address"',
            0,
        ),
    ],
    ids=["nerdctl-1.5-fatal", "nerdctl-1.6-warning"],
)
async def test_nerdctl_rootless_containerd_missing(
    bin_dir: Path, stdout_json: dict[str, object] | None, stderr: str, exit_code: int
) -> None:
    """FC-05: old and new nerdctl reach the same verdict, and the version is known."""
    write_runtime(
        bin_dir,
        "nerdctl",
        version_json=stdout_json,
        version_stderr=stderr,
        version_exit=exit_code,
        short_version="nerdctl version 2.2.0",
    )
    report = (await probe(bin_dir, NERDCTL)).report
    assert report.status is DEGRADED
    assert report.version == "2.2.0"
    assert report.reason == (
        "version step: rootless containerd not running: nerdctl client 2.2.0"
    )


@pytest.mark.parametrize("stream", ["stderr", "stdout"])
async def test_docker_exit_zero_without_daemon_is_unreachable(
    bin_dir: Path, stream: str
) -> None:
    """FC-07: no server part means unreachable, whatever the exit code."""
    message = (
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock."
        " Is the docker daemon running?"
    )
    redirect = ">&2" if stream == "stderr" else ""
    script = (
        f"printf 'Client:\\n Version:           19.03.12\\n API version:       1.40\\n'\n"
        f"echo '{message}' {redirect}\nexit 0\n"
    )
    (bin_dir / "docker").write_text("#!/bin/sh\n" + script)
    (bin_dir / "docker").chmod(0o755)
    outcome = await probe(bin_dir, DOCKER)
    report = outcome.report
    assert report.status is DEGRADED
    assert report.version == "19.03.12"
    assert report.reason == (
        "version step: daemon or service unreachable: Docker daemon not reached"
        " (client 19.03.12)"
    )
    assert outcome.diagnostics.error_line == message
    assert outcome.diagnostics.endpoint == "unix:///var/run/docker.sock"


async def test_podman_remote_unreachable_keeps_client(bin_dir: Path) -> None:
    """FC-12: a remote connection failure is not 'not installed'."""
    first = (
        "Cannot connect to Podman. Please verify your connection to the Linux system"
        " using podman system connection list, or try podman machine init and podman"
        " machine start to manage a new Linux VM"
    )
    stderr = (
        first + "\nError: unable to connect to Podman. failed to create sshClient: x"
    )
    write_runtime(
        bin_dir,
        "podman",
        version_stderr=stderr,
        version_exit=125,
        short_version="podman version 5.2.3",
    )
    env = environ(bin_dir, CONTAINER_HOST="ssh://core@127.0.0.1:2222/run/podman.sock")
    outcome = await probe(bin_dir, environ=env)
    assert outcome.report.status is DEGRADED
    assert outcome.report.version == "5.2.3"
    assert outcome.report.reason == (
        "version step: daemon or service unreachable: podman 5.2.3 installed,"
        " connection or machine unreachable"
    )
    assert outcome.diagnostics.error_line == first


async def test_empty_container_host_does_not_switch_to_remote(bin_dir: Path) -> None:
    """FC-13: an inherited empty CONTAINER_HOST is dropped, and the mode is stated."""
    guard = (
        'if [ "${CONTAINER_HOST+set}" = set ] || [ "${CONTAINER_CONNECTION+set}" = set ];'
        " then echo 'Cannot connect to Podman.' >&2; exit 125; fi\n"
    )
    write_fake(bin_dir, "podman", guard + runtime_script(version_json=PODMAN_JSON))
    outcome = await probe(bin_dir, environ=environ(bin_dir, CONTAINER_HOST=""))
    assert outcome.report.status is SUPPORTED, outcome.report.reason
    notes = outcome.diagnostics.notes
    assert "podman local mode: no CONTAINER_HOST or CONTAINER_CONNECTION" in notes
    assert "ignored empty CONTAINER_HOST (it would switch the runtime mode)" in notes
    assert outcome.report.constraints == ("detected rootful podman 5.0.0, local",)


async def test_missing_image_is_reported_by_name(bin_dir: Path) -> None:
    run = "echo 'Error: example.test/probe:9: image not known' >&2\nexit 125"
    write_runtime(bin_dir, "podman", version_json=PODMAN_JSON, run_body=run)
    outcome = await probe(bin_dir, image="example.test/probe:9")
    assert outcome.report.status is DEGRADED
    assert outcome.report.reason == (
        "run step: conformance image not present: example.test/probe:9"
    )
    assert outcome.diagnostics.hint is not None


async def test_default_image_falls_back_to_seed(bin_dir: Path) -> None:
    run = "echo 'Error: image not known' >&2\nexit 125"
    write_runtime(
        bin_dir, "podman", version_json=PODMAN_JSON, run_body=run, image_present=False
    )
    outcome = await probe(bin_dir)
    assert outcome.diagnostics.image == SEED_CONFORMANCE_IMAGE
    assert outcome.report.reason.startswith("run step: conformance image not present")


@pytest.mark.parametrize(
    ("evidence", "reason"),
    [
        ("not json at all", "evidence step: evidence not JSON: no JSON line"),
        (
            '{"workspace":true,"network":true,"env":true,"proof":false,"cleanup":true,'
            '"details":["read-only-rootfs:verified"]}',
            "evidence step: evidence incomplete: missing proof",
        ),
        (
            '{"digest":"sha256:' + "a" * 64 + '","workspace":true,"network":true,'
            '"env":true,"proof":true,"cleanup":true,"details":["read-only-rootfs:verified"]}',
            "evidence step: evidence incomplete: missing proof,"
            " proof digest does not match the host nonce",
        ),
        (
            '{"workspace":true,"network":true,"env":true,"proof":true}',
            "evidence step: evidence incomplete: missing proof, missing cleanup,"
            " proof digest does not match the host nonce, read-only root not verified",
        ),
        (
            '{"workspace":true,"bogus":1}',
            "evidence step: evidence invalid: unknown key 'bogus' @ $",
        ),
    ],
    ids=["not-json", "proof-false", "forged-digest", "no-cleanup", "extra-key"],
)
async def test_evidence_problems_degrade(
    bin_dir: Path, evidence: str, reason: str
) -> None:
    write_runtime(
        bin_dir, "podman", version_json=PODMAN_JSON, run_body=f"echo '{evidence}'"
    )
    report = (await probe(bin_dir)).report
    assert report.status is DEGRADED
    assert report.reason == reason
    assert report.executor_providers == ()
    validate_report(report, now=NOW)


async def test_sensitive_runtime_error_stays_local(bin_dir: Path) -> None:
    """The runtime's own error line goes to diagnostics, never into the report."""
    run = (
        "echo 'Error: registry credential token rejected for /home/example/podman.sock'"
        " >&2\nexit 1"
    )
    write_runtime(bin_dir, "podman", version_json=PODMAN_JSON, run_body=run)
    outcome = await probe(bin_dir)
    assert (
        outcome.report.reason == "run step: conformance container failed: exit code 1"
    )
    assert "token" in (outcome.diagnostics.error_line or "")
    assert public_text_problems("reason", outcome.report.reason) == []


async def test_workspace_unreadable_tries_label(bin_dir: Path) -> None:
    """FC-15: an unreadable mount is retried with :z and both errors are kept."""
    run = """
case "$*" in
  *:/workspace:z*) echo "Error: lsetxattr /tmp/ws: operation not permitted" >&2; exit 125;;
  *) echo "ls: can't open '/workspace': Permission denied"; exit 1;;
esac
"""
    write_runtime(bin_dir, "podman", version_json=PODMAN_JSON, run_body=run)
    outcome = await probe(bin_dir)
    assert outcome.report.status is DEGRADED
    assert outcome.report.reason == (
        "run step: workspace mount unreadable: SELinux or user namespace"
    )
    notes = outcome.diagnostics.notes
    assert any("Permission denied" in n for n in notes)
    assert any("lsetxattr" in n for n in notes)


async def test_docker_engine_detected_as_shared_kernel(bin_dir: Path) -> None:
    write_runtime(bin_dir, "docker", version_json=DOCKER_JSON)
    report = (await probe(bin_dir, DOCKER)).report
    assert report.status is SUPPORTED, report.reason
    assert report.isolation_mode is RuntimeIsolationMode.SHARED_KERNEL_CONTAINER
    assert report.constraints == ("detected Docker Engine, client 27.3.1",)


async def test_docker_desktop_detected_as_vm_backed(bin_dir: Path) -> None:
    desktop = {
        **DOCKER_JSON,
        "Server": {
            **DOCKER_JSON["Server"],
            "Platform": {"Name": "Docker Desktop 4.34.2"},
        },
    }
    write_runtime(bin_dir, "docker", version_json=desktop)
    report = (await probe(bin_dir, DOCKER)).report
    assert report.isolation_mode is RuntimeIsolationMode.VM_BACKED_CONTAINER
    assert report.install_burden is not None
    assert report.install_burden.value == "desktop-managed"


@pytest.mark.parametrize(
    "message",
    [
        "runtime unavailable at /home/example/podman.sock",
        "authentication required",
    ],
    ids=["home-socket-path", "authentication"],
)
async def test_version_failure_reason_is_shippable(bin_dir: Path, message: str) -> None:
    """The original's checks 2 and 9: sensitive failure text stays out of the reason."""
    write_runtime(bin_dir, "podman", version_stderr=message, version_exit=1)
    outcome = await probe(bin_dir)
    report = outcome.report
    assert report.status is DEGRADED
    assert report.reason == "version step: version query failed: exit code 1"
    assert "auth" not in report.reason.lower()
    assert outcome.diagnostics.error_line == message
    validate_report(report, now=NOW)


async def test_single_profile_gives_one_executor(bin_dir: Path) -> None:
    """The original's check 6: one runtime profile advertises one provider."""
    write_runtime(bin_dir, "podman", version_json=PODMAN_JSON)
    one_profile = attrs.evolve(
        PODMAN, runtime_profiles=(RuntimeProfile.SANDBOXED_OCI_V1,)
    )
    report = (await probe(bin_dir, one_profile)).report
    assert report.executor_providers == ("sandboxed-command",)
    assert [e.provider for e in report.executors] == ["sandboxed-command"]


async def test_docker_symlink_to_podman_is_alias(bin_dir: Path) -> None:
    """A docker symlink to podman is an alias even when the JSON looks like Docker's."""
    target = write_runtime(bin_dir / "podman-dir", "podman", version_json=DOCKER_JSON)
    (bin_dir / "docker").symlink_to(target)
    outcome = await probe(bin_dir, DOCKER)
    assert outcome.report.status is UNSUPPORTED
    assert outcome.diagnostics.alias_of == "podman"
    assert outcome.report.reason.startswith("version step: alias of another runtime")


async def test_deeply_nested_evidence_is_not_json(bin_dir: Path) -> None:
    nested = "python3 -c \"print('{\\\"a\\\":' * 100000 + '1' + '}' * 100000)\""
    write_runtime(bin_dir, "podman", version_json=PODMAN_JSON, run_body=nested)
    report = (await probe(bin_dir)).report
    assert report.status is DEGRADED
    assert report.reason == "evidence step: evidence not JSON: nested too deeply"


async def test_runtime_output_is_bounded_and_printable(bin_dir: Path) -> None:
    flood = "i=0; while [ $i -lt 500 ]; do echo 'WARN noise' >&2; i=$((i+1)); done"
    escape = "printf '\\033[2J\\033]0;TITLE\\007 %s\\n' \"$(head -c 3000 /dev/zero | tr '\\0' x)\" >&2"
    body = runtime_script(version_json=PODMAN_JSON)
    write_fake(bin_dir, "podman", f"{escape}\n{flood}\n{body}")
    diagnostics = (await probe(bin_dir)).diagnostics
    assert len(diagnostics.notes) <= 100
    lines = [line for step in diagnostics.steps for line in step.stderr_lines]
    lines += list(diagnostics.notes)
    assert all("\x1b" not in line and "\x07" not in line for line in lines)
    assert all(len(line) <= 501 for line in lines)
    assert any(line.startswith("\\x1b[2J") for line in lines)


@pytest.mark.parametrize(
    ("script", "reason", "hint"),
    [
        (
            "exit 126",
            "version step: version query failed: exit code 126",
            None,
        ),
        (
            "head -c 64 /dev/urandom | base64; exit 0",
            "version step: version query failed: version output not understood",
            None,
        ),
        (
            'printf \'{"Client":{"Version":"v2.2.0","Components":[]}}\\n\'; exit 0',
            "version step: daemon or service unreachable: containerd not reached"
            " (nerdctl 2.2.0)",
            "start containerd, or check the endpoint shown above",
        ),
    ],
    ids=["cannot-execute", "garbage", "no-server"],
)
async def test_nerdctl_version_failures(
    bin_dir: Path, script: str, reason: str, hint: str | None
) -> None:
    write_fake(bin_dir, "nerdctl", script)
    outcome = await probe(bin_dir, NERDCTL)
    assert outcome.report.reason == reason
    assert outcome.diagnostics.hint == hint
