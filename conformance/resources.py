"""Where the project data lives: ``profiles/`` (catalogue, value sets, manifests) and ``load/`` (locust).

From a checkout the folders sit beside the package; an installed wheel carries them as package data
under ``conformance/_data/`` (copied there by ``setup.py``). ``$DMP_CONFORMANCE_DATA`` points at another copy (a
site's own catalogue); modules resolve their files when imported, so set it before starting the process.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "DMP_CONFORMANCE_DATA"
_PACKAGE = Path(__file__).resolve().parent


def source_tree() -> Path | None:
    """The checkout the package runs from, or None for an installed wheel."""
    checkout = _PACKAGE.parent
    # a source tree, not a site-packages folder where some other distribution installed a "profiles" folder
    if (checkout / "pyproject.toml").is_file() and (checkout / "profiles").is_dir():
        return checkout
    return None


def data_root() -> Path:
    """The folder holding ``profiles/`` and ``load/``: the env override, the checkout, or the wheel's copy."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    return source_tree() or _PACKAGE / "_data"


def profiles_path(*parts: str) -> Path:
    """A file or folder under ``profiles/``, e.g. ``profiles_path("xds", "valuesets.yaml")``."""
    return data_root().joinpath("profiles", *parts)


def load_path(*parts: str) -> Path:
    """A file under ``load/`` (the locust scenarios)."""
    return data_root().joinpath("load", *parts)
