"""Conformance suites, run by ``dmp-conformance run`` (or by pytest directly, given a path).

One sub-package per role of the system under test:

- ``server_role``: the SUT is a DMP (or a DMP simulator); the bench plays the LPS through
  ``conformance.client``;
- ``client_role``: the SUT is an LPS; the bench runs the reference DMP and judges the requests it captures;
- ``documents_role``: the SUT produced documents (``--documents-dir``); the bench validates each one.

A suite is a folder of ordinary pytest tests using the plugin's fixtures (``sut_url``, ``evidence``,
``synthetic_patient``…); each test carries ``@pytest.mark.requirement(...)`` with catalogue IDs.
"""

from __future__ import annotations

from pathlib import Path

SUITES_DIR = Path(__file__).parent


def available_suites() -> list[str]:
    return sorted(p.name for p in SUITES_DIR.iterdir() if p.is_dir() and (p / "__init__.py").is_file())


def suite_path(name: str) -> Path:
    path = SUITES_DIR / name
    if name not in available_suites():
        raise ValueError(f"unknown suite {name!r}; available: {', '.join(available_suites())}")
    return path
