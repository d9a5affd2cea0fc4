"""The ``sandbox run`` command: run one command workload and print its result."""

from __future__ import annotations

import argparse
import math
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
        " when the command exits 0, and 1 otherwise.",
    )
    _add_runtime_arguments(parser)
    _add_workload_arguments(parser)
    parser.set_defaults(run=run_sandbox_command)


def _add_runtime_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        required=True,
        metavar="NAME",
        help="docker, podman, nerdctl, or a backend id from the adapter catalog",
    )
    parser.add_argument("--image", required=True, metavar="REF", help="image to run")
    parser.add_argument(
        "--workspace", required=True, metavar="DIR", help="directory mounted read-write"
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
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
    from .._cli import UsageError
    from .._gojson import dumps
    from ..probes._process import become_subreaper
    from ._adapters import run_sandboxed_command
    from ._catalog import target_for_backend
    from ._errors import SandboxRequestError
    from ._wire import EnvRef

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise UsageError(message="sandbox run: a command is required after --")

    resolved: dict[str, str] = {}
    refs: list[EnvRef] = []
    for item in args.env:
        name, separator, value = item.partition("=")
        if not separator:
            raise UsageError(message=f"sandbox run: --env {item!r} is not NAME=VALUE")
        refs.append(EnvRef(name=name, value_ref=f"cli://{name}"))
        resolved[f"cli://{name}"] = value

    become_subreaper()
    try:
        invocation = _build_invocation(args, command, refs, resolved)
        target = target_for_backend(args.backend)
    except SandboxRequestError as exc:
        raise UsageError(message=f"sandbox run: {exc}") from exc

    result = await run_sandboxed_command(invocation, target)
    sys.stdout.write(dumps(result, indent=True) + "\n")
    return 0 if result.exit_code == 0 else 1


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


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        message = f"invalid seconds {text!r}: expected a positive number"
        raise argparse.ArgumentTypeError(message)
    return value
