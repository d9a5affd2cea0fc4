"""The public surface: __all__ lists, the exception tree, and typed timeouts."""

from __future__ import annotations

import importlib
import inspect

import pytest

import wfc_container
from wfc_container import WfcError

PUBLIC_MODULES = [
    "wfc_container",
    "wfc_container.probes",
    "wfc_container.bundles",
    "wfc_container.image",
    "wfc_container.sandbox",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_unique_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)  # ruff's RUF022 keeps the order
    assert len(set(exported)) == len(exported)
    for item in exported:
        assert hasattr(module, item), f"{name}.__all__ names missing {item!r}"
    public = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", "").startswith("wfc_container")
    }
    assert public - set(exported) == set()


def exported_errors() -> list[type[BaseException]]:
    errors = []
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        for item in module.__all__:
            value = getattr(module, item)
            if inspect.isclass(value) and issubclass(value, BaseException):
                errors.append(value)
    return errors


@pytest.mark.parametrize("error", exported_errors(), ids=lambda e: e.__name__)
def test_errors_share_one_shallow_root(error: type[BaseException]) -> None:
    assert issubclass(error, WfcError)
    depth = next(i for i, cls in enumerate(error.__mro__) if cls is WfcError)
    assert depth <= 3


def test_timeout_errors_are_builtin_timeouts() -> None:
    assert issubclass(wfc_container.ProbeTimeoutError, TimeoutError)
    assert issubclass(wfc_container.CommandStartError, OSError)
    assert issubclass(wfc_container.DocumentError, ValueError)


def public_coroutines() -> list[tuple[str, str, list[str]]]:
    """Return every exported coroutine function and coroutine method of an export."""
    found = []
    for name in ("wfc_container.probes", "wfc_container.bundles"):
        module = importlib.import_module(name)
        for item in module.__all__:
            value = getattr(module, item)
            members = [(item, value)]
            if inspect.isclass(value):
                members = [
                    (f"{item}.{attr}", member)
                    for attr, member in vars(value).items()
                    if not attr.startswith("_")
                ]
            for label, member in members:
                if inspect.iscoroutinefunction(member):
                    parameters = list(inspect.signature(member).parameters)
                    found.append((name, label, parameters))
    return found


@pytest.mark.parametrize(
    ("module", "function", "parameters"),
    public_coroutines(),
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_public_coroutines_take_timeout(
    module: str, function: str, parameters: list[str]
) -> None:
    if function.endswith(".aclose"):
        pytest.skip("closing an owner takes no timeout")
    assert "timeout" in parameters, f"{module}:{function} has no timeout parameter"
