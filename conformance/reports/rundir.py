"""The run directory: report.json, report.html, junit.xml, evidence/, allure-results/, manifest +
signature."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from conformance.reports.html import render_html
from conformance.reports.junit import render_junit
from conformance.reports.manifest import MANIFEST, fingerprint, sign_run, verify_run
from conformance.reports.model import Run

REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
JUNIT_XML = "junit.xml"
EVIDENCE_DIR = "evidence"
ALLURE_DIR = "allure-results"

T = TypeVar("T")


class RunNotAmendable(ValueError):
    """The run directory cannot be changed and re-signed with this key (see :func:`check_amendable`)."""


def write_run_dir(run: Run, run_dir: Path, key: Ed25519PrivateKey | None = None) -> str:
    """Write every output of ``run`` into ``run_dir`` (evidence files are already there), then sign it.

    Returns the fingerprint of the signing key.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / REPORT_JSON).write_text(
        json.dumps(run.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (run_dir / REPORT_HTML).write_text(render_html(run, run_dir), encoding="utf-8")
    (run_dir / JUNIT_XML).write_bytes(render_junit(run))
    return sign_run(run_dir, key)


def load_run(run_dir: Path) -> Run:
    path = run_dir / REPORT_JSON
    try:
        return Run.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: cannot read the run report ({exc})") from exc


def rerender_html(run_dir: Path) -> Path:
    """Regenerate report.html from report.json (the manifest then no longer matches: see :func:`amend_run`)."""
    path = run_dir / REPORT_HTML
    path.write_text(render_html(load_run(run_dir), run_dir), encoding="utf-8")
    return path


def check_amendable(run_dir: Path, key: Ed25519PrivateKey, rewrites: Collection[str]) -> None:
    """Raise :class:`RunNotAmendable` unless ``run_dir`` is a run signed by ``key`` whose files all still match
    the manifest, except ``rewrites`` (relative paths the amendment regenerates).

    Re-signing anything else would launder an unrelated change, or replace the signer of the run.
    """
    if not (run_dir / MANIFEST).is_file():
        raise RunNotAmendable(f"{run_dir} is not a signed run directory (no {MANIFEST}): nothing to re-sign")
    result = verify_run(run_dir, key.public_key(), regenerated=rewrites)
    if not result.ok:
        raise RunNotAmendable(
            f"{run_dir} is not an intact run signed by {fingerprint(key.public_key())}, so it is not re-signed: "
            + "; ".join(result.problems)
            + ". Give the key that signed the run, or check the run with: dmp-conformance report verify "
            + str(run_dir)
        )


def amend_run(run_dir: Path, key: Ed25519PrivateKey, rewrites: Collection[str], change: Callable[[], T]) -> T:
    """Apply ``change`` (which writes only ``rewrites``) to a run signed by ``key``, then re-sign the run."""
    check_amendable(run_dir, key, rewrites)
    value = change()
    sign_run(run_dir, key)
    return value
