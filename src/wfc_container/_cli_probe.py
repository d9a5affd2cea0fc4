"""The ``probe`` command: probe backends and print the agent report."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from ._render import render_table

if TYPE_CHECKING:
    import argparse

    from ._aggregate import AgentReport
from ._cli import non_empty_path, positive_seconds
from ._errors import ProbeConfigError

FORMATS = ("table", "json")


def register(commands: Any, *, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add the ``probe`` command to the CLI's subparsers."""
    parser = commands.add_parser(
        "probe",
        help="probe container runtimes and report which can run sandboxed work",
        description="Probe Podman, Docker and nerdctl concurrently, with evidence.",
    )
    _add_selection_arguments(parser)
    _add_setting_arguments(parser)
    parser.set_defaults(run=run_probe)


def _add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--all", action="store_true", help="probe every built-in backend"
    )
    which.add_argument(
        "--backend",
        action="append",
        metavar="NAME",
        help="probe this backend, by tool name (podman) or id (podman-rootless);"
        " repeatable",
    )
    parser.add_argument(
        "--catalog",
        type=non_empty_path,
        metavar="FILE",
        help="managed runtime bundle catalog",
    )
    parser.add_argument(
        "--install-root",
        type=non_empty_path,
        metavar="DIR",
        help="managed runtime install root; with --catalog, probes installed bundles",
    )


def _add_setting_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image", metavar="REF", help="conformance image to run")
    parser.add_argument(
        "--step-timeout",
        type=positive_seconds,
        metavar="SECONDS",
        help="limit for every probe step, in seconds (default: find 2, version 10,"
        " run 60, evidence 2)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="output format (default: table on a terminal, json otherwise)",
    )


async def run_probe(args: argparse.Namespace) -> int:
    """Run the probes and print the report; exit 0 whatever the statuses."""
    from ._cli import UsageError
    from ._gojson import dumps
    from .probes import become_subreaper, probe_all, select_backends

    if (args.catalog is None) != (args.install_root is None):
        raise UsageError(message="--catalog and --install-root go together")
    become_subreaper()
    try:
        backends = None if args.all else select_backends(args.backend)
        report: AgentReport = await probe_all(
            backends=backends,
            image=args.image,
            timeout=args.step_timeout,
            catalog=args.catalog,
            install_root=args.install_root,
        )
    except ProbeConfigError as exc:
        raise UsageError(message=str(exc), hint=exc.hint) from exc
    output = args.format or ("table" if sys.stdout.isatty() else "json")
    if output == "json":
        sys.stdout.write(dumps(report) + "\n")
    else:
        sys.stdout.write(render_table(report))
    return 0
