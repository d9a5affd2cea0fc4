"""The ``image build`` and ``image load`` commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from .._cli import positive_seconds
from ._build import build_probe_image
from ._load import BACKENDS, load_probe_image


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    *,
    parser_class: type[argparse.ArgumentParser],
) -> None:
    """Add the ``image`` command group to the top-level subparsers."""
    image = commands.add_parser(
        "image",
        help="build or load the conformance probe image",
        description="Build the conformance probe image offline, or load it.",
    )
    actions = image.add_subparsers(
        dest="image_command", metavar="ACTION", required=True, parser_class=parser_class
    )
    _add_build_parser(actions)
    _add_load_parser(actions)


def _add_build_parser(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    build = actions.add_parser(
        "build",
        help="write the probe image archive and print its digest",
        description="Compile the static probe program (needs gcc and libc6-dev) "
        "and write a reproducible OCI image archive.",
    )
    build.add_argument(
        "--output",
        required=True,
        type=_output_path,
        metavar="FILE",
        help="path of the archive to write; its directory must exist",
    )
    _add_timeout(build)
    build.set_defaults(run=run_build)


def _add_load_parser(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    load = actions.add_parser(
        "load",
        help="load the probe image into a runtime and print its reference",
        description="Load the probe image into Podman, Docker or containerd.",
    )
    load.add_argument("--backend", required=True, choices=BACKENDS)
    load.add_argument(
        "--archive",
        type=_archive_path,
        metavar="FILE",
        help="archive from 'image build' (default: build one)",
    )
    load.add_argument(
        "--namespace", default="default", help="containerd namespace (default: default)"
    )
    _add_timeout(load)
    load.set_defaults(run=run_load)


def _add_timeout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=120.0,
        metavar="SECONDS",
        help="limit for the whole command in seconds (default: 120)",
    )


async def run_build(args: argparse.Namespace) -> int:
    """Build the archive and print its manifest digest."""
    result = await build_probe_image(args.output, timeout=args.timeout)
    print(result.digest)  # noqa: T201
    return 0


async def run_load(args: argparse.Namespace) -> int:
    """Load the image and print the reference it is available under."""
    reference = await load_probe_image(
        args.backend,
        archive=args.archive,
        namespace=args.namespace,
        timeout=args.timeout,
    )
    print(reference)  # noqa: T201
    return 0


def _archive_path(text: str) -> Path:
    if not text.strip():
        message = f"invalid archive path {text!r}: expected a file path"
        raise argparse.ArgumentTypeError(message)

    return Path(text)


def _output_path(text: str) -> Path:
    # Path("") is ".", and a name ending in "/" or "." names a directory, so
    # neither can be the archive file the build writes next to its temporary.
    path = _archive_path(text)
    if (
        text.endswith(("/", "/.", "/.."))
        or path.name in ("", ".", "..")
        or path.is_dir()
    ):
        message = (
            f"invalid archive path {text!r}: expected a file path, not a directory"
        )
        raise argparse.ArgumentTypeError(message)

    return path
