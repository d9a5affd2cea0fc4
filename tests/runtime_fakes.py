"""Fake Podman, Docker and nerdctl commands for probe tests, built from shell pieces."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fakes import write_fake

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

PODMAN_JSON: dict[str, Any] = {
    "Client": {
        "APIVersion": "5.0.0",
        "Version": "5.0.0",
        "GoVersion": "go1.22.5",
        "GitCommit": "",
        "BuiltTime": "Fri Aug  2 14:05:53 2024",
        "Built": 1722600353,
        "OsArch": "linux/amd64",
        "Os": "linux",
    }
}
DOCKER_JSON: dict[str, Any] = {
    "Client": {
        "Platform": {"Name": ""},
        "Version": "27.3.1",
        "ApiVersion": "1.47",
        "Os": "linux",
        "Arch": "amd64",
        "Context": "default",
    },
    "Server": {
        "Platform": {"Name": "Docker Engine - Community"},
        "Components": [{"Name": "Engine", "Version": "27.3.1"}],
        "Version": "27.3.1",
    },
}
NERDCTL_JSON: dict[str, Any] = {
    "Client": {
        "Version": "v2.2.0",
        "GitCommit": "abc",
        "GoVersion": "go1.24",
        "Os": "linux",
        "Arch": "amd64",
        "Components": [{"Name": "buildctl", "Version": "v0.26.0"}],
    },
    "Server": {
        "Components": [
            {"Name": "containerd", "Version": "v2.2.0"},
            {"Name": "runc", "Version": "1.3.0"},
        ]
    },
}

# Prints a valid evidence line for the workspace given with -v, like the real
# probe program: the digest is the SHA-256 of the host's nonce file.
GOOD_EVIDENCE = """
ws=""; prev=""
for a in "$@"; do
  if [ "$prev" = "-v" ]; then ws="${a%%:/workspace*}"; fi
  prev="$a"
done
scope=""
for a in "$@"; do
  case "$a" in WFCOMPUTE_RUNTIME_SCOPE=*) scope="${a#WFCOMPUTE_RUNTIME_SCOPE=}";; esac
done
digest=$(sha256sum "$ws/.wfcompute-probe-nonce" | cut -d' ' -f1)
details='"read-only-rootfs:verified"'
if [ -n "$scope" ]; then details="$details,\\"runtime-scope:$scope\\""; fi
printf '{"digest":"sha256:%s","workspace":true,"network":true,"env":true,\
"proof":true,"cleanup":true,"details":[%s]}\\n' "$digest" "$details"
"""


def runtime_script(
    *,
    version_json: Mapping[str, Any] | None = None,
    version_stderr: str = "",
    version_exit: int = 0,
    short_version: str = "",
    run_body: str = GOOD_EVIDENCE,
    image_present: bool = True,
    log: Path | None = None,
) -> str:
    """
    Return the body of a fake runtime command.

    ``version`` prints ``version_json`` (and ``version_stderr``) and exits with
    ``version_exit``; ``--version`` prints ``short_version``; ``run`` executes
    ``run_body``; ``image inspect`` succeeds when ``image_present``; ``rm``
    succeeds. Every call is appended to ``log`` when given.
    """
    printed = json.dumps(version_json) if version_json is not None else ""
    record = f'echo "$*" >> {log}\n' if log else ""
    return f"""{record}
for a in "$@"; do
  case "$a" in
    --version) printf '%s\\n' {_quote(short_version)}; exit 0;;
    version)
      printf '%s' {_quote(printed)}; [ -n {_quote(printed)} ] && echo
      [ -n {_quote(version_stderr)} ] && printf '%s\\n' {_quote(version_stderr)} >&2
      exit {version_exit};;
    image) exit {0 if image_present else 1};;
    rm) exit 0;;
    run) break;;
    --namespace) ;;
  esac
done
{run_body}
"""


def write_runtime(bin_dir: Path, name: str, **options: object) -> Path:
    """Write a fake runtime named ``name`` into ``bin_dir``."""
    return write_fake(bin_dir, name, runtime_script(**options))  # type: ignore[arg-type]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
