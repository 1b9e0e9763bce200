"""The run directory: report.json, report.html, junit.xml, evidence/, allure-results/, manifest +
signature."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from conformance.reports.html import render_html
from conformance.reports.junit import render_junit
from conformance.reports.manifest import sign_run
from conformance.reports.model import Run

REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
JUNIT_XML = "junit.xml"
EVIDENCE_DIR = "evidence"
ALLURE_DIR = "allure-results"


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
    """Regenerate report.html from report.json (the manifest then no longer matches: re-sign or keep both)."""
    path = run_dir / REPORT_HTML
    path.write_text(render_html(load_run(run_dir), run_dir), encoding="utf-8")
    return path
