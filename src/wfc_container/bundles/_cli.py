"""
The ``managed-runtime`` command group: install, doctor, uninstall, reinstall, package.

Each command prints one compact JSON result and a newline on stdout, as the
original CLI did. Exit codes: 0 on success (a doctor status of ``missing`` or
``degraded`` is a successful check), 1 when the operation fails, 2 for
usage errors. Flag values are checked while the arguments are parsed, so a
bad value is a usage error before any file is read or created.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._catalog import ManagedRuntimeBundleCatalog
    from ._download import DownloadProgress

SUBCOMMANDS = ("install", "doctor", "uninstall", "reinstall", "package")
DEFAULT_CATALOG = "managed-runtime-bundles.json"
# Go's GOOS and GOARCH values (linux, amd64, mips64le) are lower-case letters
# and digits.
_GO_NAME = re.compile(r"[a-z0-9]+")


def register(commands: Any, *, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add the ``managed-runtime`` command group to the CLI's subparsers."""
    group = commands.add_parser(
        "managed-runtime",
        help="install, check and remove the managed containerd/nerdctl bundle",
        description="Install, check and remove a pinned, signed runtime bundle.",
    )
    subcommands = group.add_subparsers(
        dest="managed_command", metavar="SUBCOMMAND", required=True
    )
    helps = {
        "install": "download, verify and install the bundle",
        "doctor": "check an installed bundle against its manifest and the catalog",
        "uninstall": "remove the installed bundle root, and only it",
        "reinstall": "install over the existing bundle, then run doctor",
        "package": "re-verify the upstream objects and write a source manifest"
        " and a refreshed catalog",
    }
    for name in SUBCOMMANDS:
        parser = subcommands.add_parser(name, help=helps[name], description=helps[name])
        _add_common_flags(parser, name)
        parser.set_defaults(run=run_managed_runtime)


def _path(text: str) -> Path:
    # Path("") is ".", so an empty value would silently mean the current directory.
    if not text.strip():
        message = f"invalid path {text!r}: expected a non-empty path"
        raise argparse.ArgumentTypeError(message)

    return Path(os.path.abspath(text))


def _bundle_id(text: str) -> str:
    from ._layout import BundleIdError, check_bundle_id

    try:
        check_bundle_id(text)
    except BundleIdError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None

    return text


def _go_name(text: str) -> str:
    if not _GO_NAME.fullmatch(text):
        message = (
            f"invalid target {text!r}: expected a Go OS or architecture name,"
            " such as linux or amd64"
        )
        raise argparse.ArgumentTypeError(message)

    return text


def _mirror(text: str) -> str:
    from yarl import URL

    from ._errors import UrlPolicyError
    from ._transfer import check_url

    # The downloader applies the same check to every source URL; running it
    # here reports a bad mirror before any other source is tried.
    try:
        check_url(URL(text))
    except UrlPolicyError as exc:
        # Show the value as typed, unless it carries user info to keep out.
        shown = exc.url if "@" in text else text
        message = f"invalid mirror {shown!r}: {exc.rule}"
        raise argparse.ArgumentTypeError(message) from None
    except ValueError:
        message = (
            f"invalid mirror {text!r}: expected an https URL, or http to a"
            " loopback address"
        )
        raise argparse.ArgumentTypeError(message) from None

    return text


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        message = f"invalid number {text!r}: expected a positive whole number"
        raise argparse.ArgumentTypeError(message)

    return value


def _lock_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        message = f"invalid seconds {text!r}: expected 0 or a positive number"
        raise argparse.ArgumentTypeError(message)

    return value


# Flags: (name, subcommands that take it, add_argument keyword arguments).
_FLAGS: tuple[tuple[str, frozenset[str], dict[str, Any]], ...] = (
    (
        "--catalog",
        frozenset(SUBCOMMANDS),
        {
            "type": _path,
            "metavar": "FILE",
            "help": "bundle catalog JSON (default: the catalog shipped with the"
            " package)",
        },
    ),
    (
        "--install-root",
        frozenset(SUBCOMMANDS) - {"package"},
        {
            "type": _path,
            "required": True,
            "metavar": "DIR",
            "help": "directory for managed bundles, one root per bundle id; a"
            " relative path is taken from the current directory",
        },
    ),
    (
        "--bundle-id",
        frozenset(SUBCOMMANDS),
        {
            "type": _bundle_id,
            "required": True,
            "metavar": "ID",
            "help": "catalog bundle id",
        },
    ),
    (
        "--target-os",
        frozenset(SUBCOMMANDS),
        {
            "type": _go_name,
            "metavar": "OS",
            "help": "Go OS name (default: this host's)",
        },
    ),
    (
        "--target-arch",
        frozenset(SUBCOMMANDS),
        {
            "type": _go_name,
            "metavar": "ARCH",
            "help": "Go architecture name (default: this host's)",
        },
    ),
    (
        "--mirror",
        frozenset({"install", "reinstall", "package"}),
        {
            "action": "append",
            "type": _mirror,
            "default": [],
            "metavar": "URL",
            "help": "base URL tried before the catalog's source: https, or http to"
            " a loopback address; repeatable",
        },
    ),
    (
        "--max-artifact-bytes",
        frozenset({"install", "reinstall"}),
        {
            "type": _positive_int,
            "default": 512 << 20,
            "metavar": "BYTES",
            "help": "stop a bundle download larger than this (default 512 MiB)",
        },
    ),
    (
        "--lock-timeout",
        frozenset({"install", "reinstall", "uninstall"}),
        {
            "type": _lock_seconds,
            "default": 0.0,
            "metavar": "SECONDS",
            "help": "wait this long for another install or uninstall (default 0)",
        },
    ),
    (
        "--output-dir",
        frozenset({"package"}),
        {
            "type": _path,
            "required": True,
            "metavar": "DIR",
            "help": "directory for the source manifest and the refreshed catalog",
        },
    ),
    (
        "--valid-days",
        frozenset({"package"}),
        {
            "type": _positive_int,
            "default": 180,
            "metavar": "DAYS",
            "help": "days the refreshed catalog entry stays valid (default 180)",
        },
    ),
)


def _add_common_flags(parser: argparse.ArgumentParser, name: str) -> None:
    for flag, commands, options in _FLAGS:
        if name in commands:
            parser.add_argument(flag, **options)


async def run_managed_runtime(args: argparse.Namespace) -> int:
    """Run one ``managed-runtime`` subcommand and print its JSON result."""
    from .._gojson import dumps
    from ..probes._hostinfo import host_arch, host_os

    if args.target_os is None:
        args.target_os = host_os()
    if args.target_arch is None:
        args.target_arch = host_arch()
    command = args.managed_command
    if command == "uninstall":
        from ._uninstall import uninstall_bundle

        result: object = await uninstall_bundle(
            args.bundle_id, args.install_root, lock_timeout=args.lock_timeout
        )
    else:
        result = await _run_with_catalog(command, args)

    sys.stdout.write(dumps(result) + "\n")
    return 0


async def _run_with_catalog(command: str, args: argparse.Namespace) -> object:
    from ._catalog import load_bundle_catalog

    catalog = load_bundle_catalog(_catalog_path(args.catalog))
    target = {"target_os": args.target_os, "target_arch": args.target_arch}
    if command == "doctor":
        from ._doctor import doctor_bundle

        return await doctor_bundle(catalog, args.bundle_id, args.install_root, **target)
    if command == "package":
        from ._package import package_bundle

        return await package_bundle(
            catalog,
            args.bundle_id,
            args.output_dir,
            mirrors=tuple(args.mirror),
            valid_days=args.valid_days,
            **target,
        )

    return await _install(command, catalog, args)


async def _install(
    command: str, catalog: ManagedRuntimeBundleCatalog, args: argparse.Namespace
) -> object:
    from ._install import InstallOptions, install_bundle, reinstall_bundle

    options = InstallOptions(
        max_artifact_bytes=args.max_artifact_bytes,
        mirrors=tuple(args.mirror),
        lock_timeout=args.lock_timeout,
    )
    operation = install_bundle if command == "install" else reinstall_bundle
    return await operation(
        catalog,
        args.bundle_id,
        args.install_root,
        target_os=args.target_os,
        target_arch=args.target_arch,
        options=options,
        progress=_ProgressBar() if sys.stderr.isatty() else None,
    )


def _catalog_path(path: Path | None) -> Path:
    if path is not None:
        return path

    from .._cli import UsageError
    from .._resources import catalog_path

    try:
        return catalog_path(DEFAULT_CATALOG)
    except FileNotFoundError as exc:
        raise UsageError(message=str(exc), hint="pass --catalog FILE") from None


class _ProgressBar:
    """Draw ``name  42% 105.0/250.0 MiB`` on one stderr line, redrawn in place."""

    def __init__(self) -> None:
        self.last = -1

    def __call__(self, progress: DownloadProgress) -> None:
        total = progress.total or 0
        percent = int(progress.done * 100 / total) if total else 0
        if percent == self.last and progress.done != total:
            return
        self.last = percent
        mib = 1 << 20
        line = f"\r{progress.name}  {percent:3d}% {progress.done / mib:.1f}"
        line += f"/{total / mib:.1f} MiB" if total else " MiB"
        sys.stderr.write(line + ("\n" if total and progress.done >= total else ""))
        sys.stderr.flush()
