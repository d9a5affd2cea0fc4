"""Finding the shipped catalog files."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from wfc_container._resources import catalog_path

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "name", ["runtime-adapters.json", "managed-runtime-bundles.json"]
)
def test_catalog_path_source_checkout(name: str) -> None:
    assert catalog_path(name) == REPO / "catalogs" / name


def test_catalog_path_missing() -> None:
    with pytest.raises(FileNotFoundError, match=r"'no-such\.json' not found"):
        catalog_path("no-such.json")


def test_catalog_path_installed_wheel(tmp_path: Path) -> None:
    """A built wheel finds its catalogs inside the package, without the checkout."""
    pytest.importorskip("hatchling")
    dist, site = tmp_path / "dist", tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(dist)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    script = (
        "from wfc_container._adapters_catalog import load_runtime_adapters\n"
        "from wfc_container._resources import catalog_path\n"
        "print(catalog_path('runtime-adapters.json'))\n"
        "print(len(load_runtime_adapters().runtime_backends))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=site,
        env={**os.environ, "PYTHONPATH": str(site)},
        check=True,
        capture_output=True,
        text=True,
    )

    path, count = result.stdout.splitlines()
    assert path == str(site / "wfc_container" / "catalogs" / "runtime-adapters.json")
    assert count == "4"
