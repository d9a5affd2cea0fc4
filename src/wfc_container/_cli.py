"""
Command-line front end: parse arguments, run one command, render errors.

Each command group lives in its own module with a ``register`` function that
adds a subparser and sets ``run`` on it. This module only dispatches, so the
probe path never imports the download or OpenPGP stack.
"""

from __future__ import annotations

import argparse
import enum
import importlib
import logging
import math
import os
import sys
import traceback
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import anyio

from ._errors import WfcError

logger = logging.getLogger("wfc_container.cli")

# Command name -> module that adds it. Only the module of the command being run
# is imported (all of them for --help), so "probe" pays for no other command.
COMMAND_MODULES = {
    "probe": "wfc_container._cli_probe",
    "image": "wfc_container.image._cli",
    "managed-runtime": "wfc_container.bundles._cli",
    "sandbox": "wfc_container.sandbox._cli",
}

CommandRunner = Callable[[argparse.Namespace], Awaitable[int]]


class ExitCode(enum.IntEnum):
    """Process exit codes; 0, 1 and 2 are the ones the original CLI used."""

    OK = 0
    FAILED = 1
    USAGE = 2
    BUG = 70  # an unexpected exception: the traceback is printed


class UsageError(WfcError):
    """A command-line value is missing or not acceptable."""

    def __init__(self, *, message: str, hint: str | None = None) -> None:
        super().__init__(hint=hint)
        self.message = message

    def render(self) -> str:
        return self.message


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message=f"{self.prog}: {message}")


def positive_seconds(text: str) -> float:
    """
    Parse a command-line duration: a positive, finite number of seconds.

    :raises argparse.ArgumentTypeError: naming the value, which argparse turns
        into a usage error.
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        message = f"invalid seconds {text!r}: expected a positive number"
        raise argparse.ArgumentTypeError(message)
    return value


def non_empty_path(text: str) -> Path:
    """
    Parse a command-line path that must not be empty.

    ``Path("")`` means the current directory, which no caller means by an
    empty value.
    """
    if not text.strip():
        message = f"invalid path {text!r}: expected a non-empty path"
        raise argparse.ArgumentTypeError(message)
    return Path(text)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Build the top-level parser with ``command``'s group, or every group."""
    parser = _Parser(
        prog="wfc-container",
        description="Probe container runtimes with evidence and manage a verified"
        " containerd/nerdctl runtime bundle.",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks and debug logs"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show progress logs on stderr"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    selected = [command] if command in COMMAND_MODULES else list(COMMAND_MODULES)
    for name in (COMMAND_MODULES[key] for key in selected):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(commands, parser_class=_Parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    try:
        return _run(args_list)
    except UsageError as exc:
        _print_error(exc)
        return ExitCode.USAGE
    except WfcError as exc:
        if debug:
            traceback.print_exc()
        _print_error(exc)
        return ExitCode.FAILED
    except BrokenPipeError:
        _silence_stdout()
        return ExitCode.FAILED
    except OSError as exc:
        # An I/O failure outside our own errors, such as a full disk under the
        # output file: the user's environment, not a bug.
        if debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return ExitCode.FAILED
    except KeyboardInterrupt:
        return 130
    except Exception:  # noqa: BLE001 - anything else is a bug, shown in full
        traceback.print_exc()
        return ExitCode.BUG


def _run(args_list: list[str]) -> int:
    command = next((a for a in args_list if not a.startswith("-")), None)
    args = build_parser(command).parse_args(args_list)
    _configure_logging(debug=args.debug, verbose=args.verbose)
    run: CommandRunner = args.run
    code = anyio.run(run, args)
    # Flush here, so a failed write is reported like any other error instead
    # of surfacing at interpreter exit.
    sys.stdout.flush()
    return code


def _silence_stdout() -> None:
    # The reader went away (``| head``): stop quietly, and keep Python from
    # reporting the failed flush of stdout at exit.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _print_error(exc: WfcError) -> None:
    print(f"error: {exc}", file=sys.stderr)  # noqa: T201
    if exc.hint:
        print(f"hint: {exc.hint}", file=sys.stderr)  # noqa: T201


def _configure_logging(*, debug: bool, verbose: bool) -> None:
    if not (debug or verbose):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger("wfc_container")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
