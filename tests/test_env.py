"""Tests for the explicit environment of probe commands."""

from __future__ import annotations

import pytest

from wfc_container.probes._env import (
    DEFAULT_PATH,
    SELECTOR_VARIABLES,
    SESSION_VARIABLES,
    build_child_env,
)


def test_child_env_allowlist() -> None:
    source = {
        "PATH": "/opt/bin:/usr/bin",
        "HOME": "/home/user",
        "DOCKER_HOST": "tcp://127.0.0.1:2375",
        "SSH_AUTH_SOCK": "/tmp/agent.sock",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "LD_PRELOAD": "/tmp/evil.so",
        "LC_MESSAGES": "de_DE.UTF-8",
    }

    child = build_child_env(source)

    assert child.env == {
        "PATH": "/opt/bin:/usr/bin",
        "HOME": "/home/user",
        "DOCKER_HOST": "tcp://127.0.0.1:2375",
        "LC_ALL": "C",
        "LANG": "C",
    }
    assert child.dropped_empty == ()


@pytest.mark.parametrize("name", SESSION_VARIABLES + SELECTOR_VARIABLES)
def test_child_env_passes_each(name: str) -> None:
    child = build_child_env({name: "/value"})

    assert child.env[name] == "/value"


def test_child_env_default_path() -> None:
    child = build_child_env({})

    assert child.env == {"PATH": DEFAULT_PATH, "LC_ALL": "C", "LANG": "C"}


def test_child_env_forces_locale() -> None:
    child = build_child_env({"LANG": "fr_FR.UTF-8", "LC_ALL": "fr_FR.UTF-8"})

    assert child.env["LANG"] == "C"
    assert child.env["LC_ALL"] == "C"


def test_child_env_fc13_empty_host() -> None:
    """An inherited empty CONTAINER_HOST must not switch podman to remote mode."""
    source = {"PATH": "/usr/bin", "CONTAINER_HOST": "", "CONTAINER_CONNECTION": ""}

    child = build_child_env(source)

    assert "CONTAINER_HOST" not in child.env
    assert "CONTAINER_CONNECTION" not in child.env
    assert child.dropped_empty == ("CONTAINER_HOST", "CONTAINER_CONNECTION")


def test_child_env_drops_empty_path() -> None:
    child = build_child_env({"PATH": "", "DOCKER_CONTEXT": "", "HOME": "/root"})

    assert child.env["PATH"] == DEFAULT_PATH
    assert "DOCKER_CONTEXT" not in child.env
    assert child.dropped_empty == ("PATH", "DOCKER_CONTEXT")


def test_child_env_keeps_set_selector() -> None:
    child = build_child_env({"CONTAINER_HOST": "unix:///run/podman/podman.sock"})

    assert child.env["CONTAINER_HOST"] == "unix:///run/podman/podman.sock"
    assert child.dropped_empty == ()


def test_child_env_extra_last() -> None:
    """``extra`` overrides the allowlist and the locale, and keeps empty values."""
    extra = {"DOCKER_HOST": "unix:///tmp/d.sock", "LANG": "C.UTF-8", "OWN": ""}

    child = build_child_env({"DOCKER_HOST": "tcp://127.0.0.1:1"}, extra=extra)

    assert child.env["DOCKER_HOST"] == "unix:///tmp/d.sock"
    assert child.env["LANG"] == "C.UTF-8"
    assert child.env["OWN"] == ""


def test_child_env_copies_source() -> None:
    source = {"HOME": "/root"}

    child = build_child_env(source)
    child.env["HOME"] = "/elsewhere"

    assert source == {"HOME": "/root"}


def test_child_env_relative_path() -> None:
    """Empty and relative PATH entries would find programs in the working directory."""
    child = build_child_env({"PATH": "/usr/bin:.::bin:/opt/bin"})

    assert child.env["PATH"] == "/usr/bin:/opt/bin"
    assert child.dropped_path_entries == (".", "", "bin")


def test_child_env_only_relative_path() -> None:
    child = build_child_env({"PATH": "."})

    assert child.env["PATH"] == DEFAULT_PATH
    assert child.dropped_path_entries == (".",)


def test_child_env_extra_path() -> None:
    """A PATH in ``extra`` is the caller's choice and is kept as given."""
    child = build_child_env({"PATH": "/usr/bin"}, extra={"PATH": "tools:/bin"})

    assert child.env["PATH"] == "tools:/bin"
    assert child.dropped_path_entries == ()
