"""Recognise why a runtime command failed from the lines it printed."""

from __future__ import annotations

import enum
import re


class Cause(enum.Enum):
    """Cause of a failed probe step, each with its own wording in the report."""

    NOT_INSTALLED = "not installed"
    UNREACHABLE = "daemon or service unreachable"
    PERMISSION_DENIED = "permission denied"
    ROOTLESS_SETUP_MISSING = "rootless setup missing"
    ROOTLESS_CONTAINERD_MISSING = "rootless containerd not running"
    TIMED_OUT = "timed out"
    IMAGE_MISSING = "conformance image not present"
    PROBE_PROGRAM_MISSING = "probe program missing from the image"
    WORKSPACE_UNREADABLE = "workspace mount unreadable"
    RUN_FAILED = "conformance container failed"
    VERSION_FAILED = "version query failed"
    EVIDENCE_NOT_JSON = "evidence not JSON"
    EVIDENCE_INVALID = "evidence invalid"
    EVIDENCE_INCOMPLETE = "evidence incomplete"
    ALIAS = "alias of another runtime"
    WORKSPACE_FAILED = "workspace preparation failed"
    BUNDLE_UNAVAILABLE = "managed runtime unavailable"
    BUNDLE_INVALID = "managed runtime bundle invalid"
    INTERNAL = "probe error"


# Ordered: the first matching pattern decides. Each entry covers the wording of
# several releases (see the tests for the exact lines of each runtime).
_PATTERNS: tuple[tuple[Cause, re.Pattern[str]], ...] = (
    (
        Cause.ROOTLESS_CONTAINERD_MISSING,
        re.compile(
            r"rootless containerd not running"
            r"|failed to inspect the rootless containerd socket",
            re.I,
        ),
    ),
    (
        Cause.ROOTLESS_SETUP_MISSING,
        re.compile(
            r"cannot find mappings for user|no sub[ug]id ranges? found"
            r"|newuidmap.*(not found|no such file)|there might not be enough ids",
            re.I,
        ),
    ),
    (
        Cause.PERMISSION_DENIED,
        re.compile(
            r"permission denied while trying to connect"
            r"|got permission denied"
            r"|(dial unix|connect).*permission denied"
            r"|cannot access containerd socket.*permission denied",
            re.I,
        ),
    ),
    (
        Cause.UNREACHABLE,
        re.compile(
            r"cannot connect to the docker daemon|failed to connect to the docker api"
            r"|is the docker daemon running|cannot connect to podman"
            r"|unable to connect to podman|cannot access containerd socket"
            r"|connection refused|no such host|error during connect",
            re.I,
        ),
    ),
    (
        Cause.IMAGE_MISSING,
        re.compile(
            r"no such image|image not known|unable to find image"
            r"|image .*not found|not found: .*image|failed to resolve reference"
            r"|pull access denied|repository does not exist",
            re.I,
        ),
    ),
    (
        Cause.PROBE_PROGRAM_MISSING,
        re.compile(
            r"executable file not found|exec: .*no such file or directory"
            r"|exec format error|starting container process caused.*no such file",
            re.I,
        ),
    ),
)

MAX_LINE_LENGTH = 500
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SELINUX_LABEL_FAILURE = re.compile(r"lsetxattr|relabel", re.I)
_WORKSPACE_DENIED = re.compile(r"(/workspace|/ws)\b.*permission denied", re.I)
_LOG_PREFIX = re.compile(
    r"^(?:(?:ERRO|WARN|FATA|INFO|DEBU)\[\d+\]\s*|time=\"[^\"]*\"\s+level=\w+\s+msg=)"
)


def classify(text: str) -> Cause | None:
    """Return the first known cause whose wording appears in ``text``, if any."""
    for cause, pattern in _PATTERNS:
        if pattern.search(text):
            return cause
    return None


def is_workspace_denied(text: str) -> bool:
    """Return whether the container reported that it cannot read the workspace."""
    return bool(_WORKSPACE_DENIED.search(text))


def is_label_failure(text: str) -> bool:
    """Return whether the runtime failed to apply an SELinux label to the mount."""
    return bool(_SELINUX_LABEL_FAILURE.search(text))


def meaningful_lines(data: bytes) -> tuple[str, ...]:
    r"""
    Decode output and return its non-blank lines, stripped and made printable.

    Control characters (terminal escapes among them) are shown as ``\xNN`` so
    runtime output cannot drive the terminal it is printed on, and each line is
    cut to ``MAX_LINE_LENGTH`` characters.
    """
    text = data.decode("utf-8", errors="replace")
    lines = (_printable(line.strip()) for line in text.splitlines())
    return tuple(line for line in lines if line)


def _printable(line: str) -> str:
    shown = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", line)
    if len(shown) > MAX_LINE_LENGTH:
        return shown[:MAX_LINE_LENGTH] + "…"
    return shown


def error_line(lines: tuple[str, ...], cause: Cause | None = None) -> str | None:
    """
    Pick the line that best explains a failure, without log-format noise.

    The line matching ``cause`` wins; otherwise the first line that is not a
    warning; otherwise the first line.
    """
    if not lines:
        return None
    if cause is not None:
        for line in lines:
            if classify(line) is cause:
                return strip_log_prefix(line)
    for line in lines:
        if not line.startswith(("WARN", "time=")) or "level=fatal" in line:
            return strip_log_prefix(line)
    return strip_log_prefix(lines[0])


def strip_log_prefix(line: str) -> str:
    """Remove a logrus ``ERRO[0000]`` or ``time=... level=... msg=`` prefix."""
    stripped = _LOG_PREFIX.sub("", line)
    if stripped != line and stripped.endswith('"'):
        stripped = stripped.removeprefix('"').removesuffix('"')
    return stripped.strip()
