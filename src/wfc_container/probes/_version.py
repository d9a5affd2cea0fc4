"""
Read what ``<tool> version --format {{json .}}`` and ``<tool> --version`` printed.

The JSON schema identifies the engine whatever the command is called: Podman's
client block has ``OsArch`` and ``BuiltTime``, Docker's has ``Platform`` and
``Context``, nerdctl's lists ``Components``. A server block that is missing,
``null`` or empty means the daemon was not reached, whatever the exit code.
"""

from __future__ import annotations

import json
import re

import attrs

_VERSION_WORD = re.compile(r"\bversion\s+v?([0-9][^\s,]*)", re.I)
_TEXT_FIELD = re.compile(r"^\s*Version:\s*(\S+)", re.M)
_PODMAN_BANNER = re.compile(r"emulate docker cli using podman", re.I)


@attrs.frozen(kw_only=True)
class VersionFacts:
    """Facts from the version output about the client and the engine behind it."""

    client_version: str | None = None
    engine: str | None = None  # "podman", "docker" or "nerdctl" by schema
    server_reached: bool = False
    server_names: tuple[str, ...] = ()
    platform_name: str = ""
    docker_context: str | None = None
    podman_banner: bool = False
    parsed: bool = False


def read_version_output(stdout: bytes, stderr: bytes) -> VersionFacts:
    """Interpret the output of ``version --format {{json .}}`` (or a text block)."""
    text = stdout.decode("utf-8", errors="replace").strip()
    banner = bool(_PODMAN_BANNER.search(stderr.decode("utf-8", errors="replace")))
    document = _first_json_object(text)
    if document is None:
        match = _TEXT_FIELD.search(text)
        return VersionFacts(
            client_version=_clean(match.group(1)) if match else None,
            server_reached=_text_has_server(text),
            podman_banner=banner,
            parsed=match is not None,
        )

    client = _as_dict(document.get("Client"))
    server = _as_dict(document.get("Server"))
    return VersionFacts(
        client_version=_clean(client.get("Version")),
        engine=_engine_of(client, server),
        server_reached=_has_server(server),
        server_names=_component_names(server),
        platform_name=str(_as_dict(server.get("Platform")).get("Name") or ""),
        docker_context=_str_or_none(client.get("Context")),
        podman_banner=banner,
        parsed=True,
    )


def read_short_version(stdout: bytes) -> str | None:
    """Return the version in output such as ``Docker version 27.3.1, build ce12230``."""
    match = _VERSION_WORD.search(stdout.decode("utf-8", errors="replace"))
    return _clean(match.group(1)) if match else None


def sanitize_version(value: str | None) -> str:
    """Return the first token of ``value`` without NUL bytes, or ``unknown``."""
    cleaned = (value or "").replace("\x00", "").strip()
    return cleaned.split()[0] if cleaned else "unknown"


def _first_json_object(text: str) -> dict[str, object] | None:
    for candidate in (text, *text.splitlines()):
        candidate = candidate.strip()
        if not candidate.startswith("{"):
            continue
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _engine_of(client: dict[str, object], server: dict[str, object]) -> str | None:
    if "OsArch" in client or "BuiltTime" in client:
        return "podman"
    if any("podman" in name.lower() for name in _component_names(server)):
        return "podman"
    if "Components" in client:
        return "nerdctl"
    if client:
        return "docker"
    return None


def _has_server(server: dict[str, object]) -> bool:
    if not server:
        return False
    version = server.get("Version") or server.get("APIVersion")
    return bool(version) or bool(_component_names(server))


def _component_names(server: dict[str, object]) -> tuple[str, ...]:
    components = server.get("Components")
    if not isinstance(components, list):
        return ()
    names = (_as_dict(item).get("Name") for item in components)
    return tuple(str(name) for name in names if name)


def _text_has_server(text: str) -> bool:
    # Docker's text layout: a "Server:" heading followed by an indented Version.
    _, heading, rest = text.partition("Server:")
    return bool(heading) and _TEXT_FIELD.search(rest) is not None


def _as_dict(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    token = sanitize_version(value)
    if token in ("unknown", "<unknown>"):
        return None
    # nerdctl's JSON prints v2.2.0 and its --version prints 2.2.0: report one form.
    return token.removeprefix("v") if token[1:2].isdigit() else token
