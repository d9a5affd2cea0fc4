"""Workload environment: resolve env refs and check names and values early."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from ._errors import SandboxRequestError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ._wire import EnvRef

# Builders read their control variables from this prefix; a workload may not set them.
RESERVED_BUILD_PREFIX = "WORKFLOW_COMPUTE_BUILD_"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_env_entry(name: str, value: str) -> None:
    """
    Check that ``name`` is a shell-style variable name and ``value`` is one line.

    Env files hold one ``NAME=VALUE`` per line, so a newline would start a new
    variable and a NUL would cut the value short.

    :raises SandboxRequestError: naming the variable.
    """
    if not _NAME.fullmatch(name):
        raise SandboxRequestError(
            field="env name",
            value=name,
            expected="a letter or '_' followed by letters, digits or '_'",
        )

    if any(char in value for char in "\x00\r\n"):
        # The value may be a secret, so the error names only the variable.
        raise SandboxRequestError(
            field="value of env",
            value=name,
            expected="a single line without NUL, CR or LF (the value is not shown)",
        )


def check_env(env: Mapping[str, str], *, reserved_prefix: str | None = None) -> None:
    """
    Check every entry of ``env`` in sorted order, so the first error is stable.

    :param reserved_prefix: names starting with it are rejected.
    :raises SandboxRequestError: naming the first bad variable.
    """
    for name in sorted(env):
        check_env_entry(name, env[name])
        if reserved_prefix and name.startswith(reserved_prefix):
            raise SandboxRequestError(
                field="env name",
                value=name,
                expected=f"a name not starting with the reserved {reserved_prefix!r}",
            )


def check_env_ref(ref: EnvRef) -> None:
    """
    Check that ``ref`` has a name and exactly one of ``value_ref`` or ``secret_ref``.

    :raises SandboxRequestError: when it does not.
    """
    if not ref.name.strip():
        raise SandboxRequestError(
            field="env ref name", value=ref.name, expected="a non-blank name"
        )

    if bool(ref.value_ref) == bool(ref.secret_ref):
        found = "both" if ref.value_ref else "neither"
        raise SandboxRequestError(
            field=f"env {ref.name} refs",
            value=found,
            expected="exactly one of value_ref or secret_ref",
        )


def resolve_env_refs(
    refs: Sequence[EnvRef],
    resolved: Mapping[str, str],
    *,
    reserved_prefix: str | None = None,
) -> dict[str, str]:
    """
    Look up each ref's value in ``resolved`` and return the workload env.

    The lookup key is ``value_ref`` when it is not blank, otherwise ``secret_ref``,
    used exactly as written.

    :param resolved: values by reference, as the host resolved them.
    :param reserved_prefix: names starting with it are rejected (builders).
    :raises SandboxRequestError: on a malformed ref, a bad or reserved name, a
        name declared twice, a missing ref, or a value that is not one line.
    """
    env: dict[str, str] = {}
    for ref in refs:
        check_env_ref(ref)
        if ref.name in env:
            raise SandboxRequestError(
                field="env name", value=ref.name, expected="each name declared once"
            )

        key = ref.value_ref if ref.value_ref.strip() else ref.secret_ref
        if key not in resolved:
            raise SandboxRequestError(
                field=f"env {ref.name} ref",
                value=key,
                expected="a reference the host resolved",
            )

        env[ref.name] = resolved[key]

    check_env(env, reserved_prefix=reserved_prefix)
    return env


def write_env_file(directory: str, env: Mapping[str, str]) -> str:
    """
    Write ``env`` as ``NAME=VALUE`` lines, sorted by name, to a new 0600 file.

    ``directory`` should be a private directory the caller removes after the
    run; the file is created exclusively and never through a symlink.

    :returns: the path of the file.
    :raises SandboxRequestError: when a name or value is not acceptable.
    """
    check_env(env)
    path = os.path.join(directory, "env")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    with open(fd, "w", encoding="utf-8") as file:
        file.writelines(f"{name}={env[name]}\n" for name in sorted(env))

    return path
