"""The ``sandbox run`` command: run one command workload and print its result."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from .._cli import positive_seconds

if TYPE_CHECKING:
    from .._adapters_catalog import RuntimeAdapterCatalog
    from .._cli import UsageError
    from ._argv import RuntimeTarget
    from ._errors import SandboxRequestError
    from ._invocation import SandboxInvocation
    from ._wire import EnvRef


COMMAND_NETWORKS = ("none", "bridge")


def register(commands: Any, *, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add the ``sandbox`` command group to the CLI's subparsers."""
    group = commands.add_parser(
        "sandbox",
        help="run workloads the way the sandbox adapters do",
        description="Run workloads in hardened containers, as the agent would.",
    )
    actions = group.add_subparsers(
        dest="sandbox_command", metavar="ACTION", required=True
    )
    parser = actions.add_parser(
        "run",
        help="run a command in a sandboxed container and print the result as JSON",
        description="Run COMMAND in IMAGE with DIR mounted at /workspace, with no"
        " network unless asked, and print the execution result as JSON. Exits 0"
        " when the command exits 0, 1 when it or the run fails, and 2 for a bad"
        " argument.",
    )
    _add_runtime_arguments(parser)
    _add_workload_arguments(parser)
    parser.set_defaults(run=run_sandbox_command)


def _add_runtime_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        required=True,
        metavar="NAME",
        help="docker, podman, nerdctl, or a system-installed backend id from the"
        " adapter catalog (a managed bundle is not accepted here)",
    )
    parser.add_argument("--image", required=True, metavar="REF", help="image to run")
    parser.add_argument(
        "--workspace", required=True, metavar="DIR", help="directory mounted read-write"
    )
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=60.0,
        metavar="SECONDS",
        help="limit for the run in seconds (default: 60)",
    )
    parser.add_argument(
        "--network",
        choices=COMMAND_NETWORKS,
        default="none",
        help="container network (default: none)",
    )


def _add_workload_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="environment variable for the command; repeatable",
    )
    parser.add_argument(
        "--artifact",
        action="append",
        default=[],
        metavar="PATH",
        help="workspace path to include in the artifact hash; repeatable",
    )
    parser.add_argument(
        "command", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="command to run"
    )


async def run_sandbox_command(args: argparse.Namespace) -> int:
    """Run the command workload and print the result; exit 1 if the command failed."""
    from .._gojson import dumps
    from ..probes._process import become_subreaper
    from ._adapters import run_sandboxed_command

    invocation, target = _checked_request(args)
    become_subreaper()
    result = await run_sandboxed_command(invocation, target)
    sys.stdout.write(dumps(result, indent=True) + "\n")
    return 0 if result.exit_code == 0 else 1


def _checked_request(
    args: argparse.Namespace,
) -> tuple[SandboxInvocation, RuntimeTarget]:
    """Check every argument before anything runs, so a bad one is a usage error."""
    from .._cli import UsageError
    from ._errors import SandboxRequestError, UnsafePathError

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise UsageError(message="sandbox run: a command is required after --")

    refs, resolved = _parse_env(args.env)
    target = _target(args.backend)
    _check_paths(args.workspace, args.artifact)
    try:
        invocation = _build_invocation(args, command, refs, resolved)
    except (SandboxRequestError, UnsafePathError) as exc:
        raise UsageError(message=f"sandbox run: {exc}", hint=exc.hint) from exc

    return invocation, target


def _parse_env(items: list[str]) -> tuple[list[EnvRef], dict[str, str]]:
    from .._cli import UsageError
    from ._wire import EnvRef

    refs: list[EnvRef] = []
    resolved: dict[str, str] = {}
    for item in items:
        name, separator, value = item.partition("=")
        if not separator or not name:
            message = (
                f"sandbox run: invalid --env {item!r}: expected NAME=VALUE with a"
                " non-empty NAME"
            )
            raise UsageError(message=message)

        refs.append(EnvRef(name=name, value_ref=f"cli://{name}"))
        resolved[f"cli://{name}"] = value

    return refs, resolved


def _target(backend: str) -> RuntimeTarget:
    from .._adapters_catalog import load_runtime_adapters
    from ._catalog import target_for_backend
    from ._errors import SandboxRequestError

    catalog = load_runtime_adapters()
    try:
        return target_for_backend(backend, catalog=catalog)
    except SandboxRequestError as exc:
        raise _backend_error(backend, exc, catalog) from exc


def _backend_error(
    backend: str, rejection: SandboxRequestError, catalog: RuntimeAdapterCatalog
) -> UsageError:
    """Build the usage error for a rejected ``--backend``, listing the accepted ones."""
    from .._cli import UsageError
    from ._argv import TOOLS

    names = dict.fromkeys([*TOOLS, *(b.backend_id for b in catalog.runtime_backends)])
    accepted = ", ".join(name for name in names if _accepts(name, catalog))
    if backend not in names:
        message = (
            f"sandbox run: invalid backend {backend!r}: expected one of {accepted}"
        )
        return UsageError(message=message)

    # A known backend that this command cannot run keeps its specific reason.
    hint = f"sandbox run accepts {accepted}"
    return UsageError(message=f"sandbox run: {rejection}", hint=hint)


def _accepts(backend: str, catalog: RuntimeAdapterCatalog) -> bool:
    from ._catalog import target_for_backend
    from ._errors import SandboxRequestError

    try:
        target_for_backend(backend, catalog=catalog)
    except SandboxRequestError:
        return False

    return True


def _check_paths(workspace: str, artifacts: list[str]) -> None:
    """Check ``--workspace`` and ``--artifact`` the way the run would, up front."""
    from .._cli import UsageError
    from ._argv import WORKSPACE_MOUNT
    from ._errors import SandboxRequestError, UnsafePathError
    from ._mounts import bind_mount
    from ._paths import resolve_inside
    from ._run import checked_workspace

    try:
        # The run checks the workspace again, because it may change meanwhile.
        bind_mount(checked_workspace(workspace), WORKSPACE_MOUNT, read_only=False)
    except (SandboxRequestError, UnsafePathError) as exc:
        message = f"sandbox run: argument --workspace: {exc}"
        raise UsageError(message=message) from exc

    for artifact in artifacts:
        try:
            resolve_inside(WORKSPACE_MOUNT, artifact)
        except UnsafePathError as exc:
            message = f"sandbox run: argument --artifact: {exc}"
            raise UsageError(message=message) from exc


def _build_invocation(
    args: argparse.Namespace,
    command: list[str],
    refs: list[EnvRef],
    resolved: dict[str, str],
) -> SandboxInvocation:
    from ._invocation import build_command_invocation
    from ._wire import CommandWorkload

    return build_command_invocation(
        task_id="cli",
        lease_id="cli",
        image=args.image,
        workspace=args.workspace,
        workload=CommandWorkload(
            args=tuple(command),
            env=tuple(refs),
            artifact_allowlist=tuple(args.artifact),
        ),
        resolved_env=resolved,
        network=args.network,
        timeout=args.timeout,
    )
