"""Host operating system and architecture in the Go names the protocol uses."""

from __future__ import annotations

import platform

_GO_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "i386": "386",
    "i686": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "loongarch64": "loong64",
}


def host_os() -> str:
    """Return ``linux``, ``darwin``, ``windows`` or the lower-cased system name."""
    return platform.system().lower()


def host_arch() -> str:
    """Return the Go name of this machine's architecture (``amd64``, ``arm64``, …)."""
    machine = platform.machine().lower()
    return _GO_ARCH.get(machine, machine)
