"""Location of the shipped catalog files, in a source checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def catalog_path(name: str) -> Path:
    """
    Return the path of ``catalogs/<name>``.

    An installed wheel carries the catalogs inside the package, as
    ``wfc_container/catalogs``. A source checkout (including an editable
    install) keeps them at the repository root, two levels above the package.

    :param name: the file name, such as ``runtime-adapters.json``.
    :raises FileNotFoundError: when neither location has the file.
    """
    candidates = (
        _PACKAGE_DIR / "catalogs" / name,
        _PACKAGE_DIR.parent.parent / "catalogs" / name,
    )
    for candidate in candidates:
        if candidate.is_file():
            return candidate

    searched = ", ".join(repr(str(c)) for c in candidates)
    msg = f"catalog {name!r} not found: searched {searched}"
    raise FileNotFoundError(msg)
