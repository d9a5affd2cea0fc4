"""
The version step: query the runtime's version and whether its service responds.

Both the exit code and the output are judged. A Docker or nerdctl client that
prints its own version while its daemon is down must not pass, and a Podman
whose stderr carries log noise beside a valid version must not fail.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import anyio

from .._wire import (
    RuntimeBackendStatus,
    RuntimeInstallBurden,
    RuntimeIsolationMode,
)
from ._classify import Cause, classify, error_line, meaningful_lines
from ._endpoints import (
    can_connect_unix,
    resolve_containerd_address,
    resolve_docker_endpoint,
    resolve_podman_mode,
)
from ._verdicts import Verdict
from ._version import VersionFacts, read_short_version, read_version_output

if TYPE_CHECKING:
    from ._probe_state import ProbeState

DEGRADED = RuntimeBackendStatus.DEGRADED
_SOCKET_CHECK_TIMEOUT = 1.0


async def run_version_step(state: ProbeState) -> Verdict | None:
    """Run the version step under its own limit and return a verdict on failure."""
    state.current_step = "version"
    limit = state.timeouts.version
    try:
        with anyio.fail_after(limit):
            return await _version(state)
    except TimeoutError:
        return state.timed_out("version", limit)


async def _version(state: ProbeState) -> Verdict | None:
    assert state.executable is not None
    _describe_endpoint(state)
    argv = (state.executable, *state.definition.scope_args, "version")
    result = await state.command("version", (*argv, "--format", "{{json .}}"))
    facts = read_version_output(result.stdout, result.stderr)
    lines = meaningful_lines(result.stdout) + meaningful_lines(result.stderr)
    state.add_notes(meaningful_lines(result.stderr))

    client = facts.client_version
    short_output = ""
    if client is None:
        short = await state.command("version", (state.executable, "--version"))
        short_output = short.stdout.decode("utf-8", errors="replace")
        client = read_short_version(short.stdout)
    if state.bundle is None:
        state.version = client or ""

    alias = _alias_verdict(state, facts, short_output, client)
    if alias is not None:
        return alias

    cause = classify("\n".join(lines))
    if cause is Cause.ROOTLESS_SETUP_MISSING:
        # Podman still works with a single mapping, so later steps run, but the
        # backend stays degraded for this reason whatever they find.
        detail = _subuid_detail(state)
        state.sticky = Verdict(
            status=DEGRADED, step="version", cause=cause, detail=detail
        )
        state.error_line = error_line(lines, cause)

    if _service_answered(state, facts, result.exit_code):
        _record_detection(state, facts)
        return None

    return await _unreachable_verdict(state, cause, lines, result.exit_code, client)


def _describe_endpoint(state: ProbeState) -> None:
    tool = state.definition.tool.value
    if tool == "docker":
        endpoint = resolve_docker_endpoint(state.env)
        state.endpoint, state.context = endpoint.host, endpoint.context
        state.notes.append(f"docker endpoint from {endpoint.source}")
        if endpoint.problem:
            state.notes.append(endpoint.problem)
    elif tool == "podman":
        mode = resolve_podman_mode(state.env)
        state.podman_remote = mode.remote
        state.endpoint = mode.endpoint
        if mode.remote:
            state.notes.append(f"podman remote mode, endpoint from {mode.source}")
        else:
            state.notes.append(
                "podman local mode: no CONTAINER_HOST or CONTAINER_CONNECTION"
            )
    elif tool == "nerdctl":
        state.endpoint = resolve_containerd_address(state.env)


def _service_answered(state: ProbeState, facts: VersionFacts, exit_code: int) -> bool:
    # Local Podman has no service: its client is the engine. Everything else
    # must show a server part, whatever the exit code.
    if state.definition.tool.value == "podman" and not state.podman_remote:
        return exit_code == 0 and facts.client_version is not None
    return facts.server_reached and exit_code == 0


def _alias_verdict(
    state: ProbeState, facts: VersionFacts, short_output: str, client: str | None
) -> Verdict | None:
    if state.definition.tool.value != "docker":
        return None
    assert state.executable is not None
    target = os.path.basename(os.path.realpath(state.executable))
    is_podman = (
        facts.engine == "podman"
        or facts.podman_banner
        or short_output.lower().startswith("podman")
        or target.startswith("podman")
    )
    if not is_podman:
        return None

    state.alias_of = "podman"
    state.detected = f"podman {client or 'unknown'} behind the docker command"
    detail = f"docker runs podman {client or 'unknown'}; podman is reported once"
    return Verdict(
        status=RuntimeBackendStatus.UNSUPPORTED,
        step="version",
        cause=Cause.ALIAS,
        detail=detail,
    )


async def _unreachable_verdict(
    state: ProbeState,
    cause: Cause | None,
    lines: tuple[str, ...],
    exit_code: int,
    client: str | None,
) -> Verdict:
    tool = state.definition.tool.value
    if cause is None or cause is Cause.ROOTLESS_SETUP_MISSING:
        cause = _unexplained_cause(tool, exit_code, client)
    state.error_line = error_line(lines, cause) or f"exit code {exit_code}"
    detail = _unreachable_detail(tool, cause, client, state.podman_remote)
    if cause is Cause.ROOTLESS_CONTAINERD_MISSING and await _rootful_socket_open(state):
        detail = (
            "nerdctl needs root or rootless containerd; the rootful socket is reachable"
        )
    if cause is Cause.VERSION_FAILED:
        detail = f"exit code {exit_code}"
        if exit_code == 0:
            detail = "version output not understood"
    return Verdict(status=DEGRADED, step="version", cause=cause, detail=detail)


def _unexplained_cause(tool: str, exit_code: int, client: str | None) -> Cause:
    # A client that printed its version but no server part, with no error line
    # we recognise, could not reach its daemon. A command that could not run
    # (126, 127) or printed nothing usable failed for some other reason.
    if tool == "podman" or client is None or exit_code in (126, 127):
        return Cause.VERSION_FAILED
    return Cause.UNREACHABLE


def _unreachable_detail(
    tool: str, cause: Cause, client: str | None, remote: bool
) -> str:
    shown = client or "unknown"
    if cause is not Cause.UNREACHABLE:
        return f"{tool} client {shown}"
    if tool == "podman":
        return f"podman {shown} installed, connection or machine unreachable"
    if tool == "docker":
        return f"Docker daemon not reached (client {shown})"
    return f"containerd not reached (nerdctl {shown})"


async def _rootful_socket_open(state: ProbeState) -> bool:
    if os.geteuid() == 0 or state.endpoint is None:
        return False
    return await can_connect_unix(state.endpoint, timeout=_SOCKET_CHECK_TIMEOUT)


def _subuid_detail(state: ProbeState) -> str:
    user = state.env.get("USER") or str(os.geteuid())
    return f"no subuid/subgid range for {user}"


def _record_detection(state: ProbeState, facts: VersionFacts) -> None:
    tool = state.definition.tool.value
    version = state.version or "unknown"
    if tool == "podman":
        _detect_podman(state, version)
    elif tool == "docker":
        if "docker desktop" in facts.platform_name.lower():
            state.isolation_mode = RuntimeIsolationMode.VM_BACKED_CONTAINER
            state.install_burden = RuntimeInstallBurden.DESKTOP_MANAGED
            state.detected = f"Docker Desktop, client {version}"
        else:
            state.isolation_mode = RuntimeIsolationMode.SHARED_KERNEL_CONTAINER
            state.install_burden = RuntimeInstallBurden.SYSTEM_INSTALLED
            state.detected = f"Docker Engine, client {version}"
    else:
        rootless = any("rootlesskit" in n.lower() for n in facts.server_names)
        state.isolation_mode = (
            RuntimeIsolationMode.USER_NAMESPACE
            if rootless
            else RuntimeIsolationMode.SHARED_KERNEL_CONTAINER
        )
        kind = "rootless containerd" if rootless else "containerd"
        state.detected = f"nerdctl {version} with {kind}"


def _detect_podman(state: ProbeState, version: str) -> None:
    state.install_burden = RuntimeInstallBurden.SYSTEM_INSTALLED
    if state.podman_remote:
        # A remote service does not report whether it runs rootless, so claim the
        # weaker isolation rather than an unchecked one.
        state.isolation_mode = RuntimeIsolationMode.SHARED_KERNEL_CONTAINER
        state.detected = f"podman {version} in remote mode"
        return
    rootless = os.geteuid() != 0
    state.keep_id = rootless
    state.isolation_mode = (
        RuntimeIsolationMode.USER_NAMESPACE
        if rootless
        else RuntimeIsolationMode.SHARED_KERNEL_CONTAINER
    )
    state.detected = f"{'rootless' if rootless else 'rootful'} podman {version}, local"
