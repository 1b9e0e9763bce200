"""Certification reports: the run model, report.json (schema ``dmp-conformance/report/v1``), self-contained
HTML, JUnit, and a signed manifest that makes any later change to the run directory detectable."""

from conformance.reports.manifest import Verification, fingerprint, sign_run, verify_run
from conformance.reports.model import (
    SCHEMA_ID,
    Artefact,
    EvidenceRef,
    Outcome,
    RequirementVerdict,
    Run,
    SutInfo,
    TestResult,
    Verdict,
    requirement_verdicts,
)
from conformance.reports.rundir import load_run, rerender_html, write_run_dir

__all__ = [
    "SCHEMA_ID",
    "Artefact",
    "EvidenceRef",
    "Outcome",
    "RequirementVerdict",
    "Run",
    "SutInfo",
    "TestResult",
    "Verdict",
    "Verification",
    "fingerprint",
    "load_run",
    "requirement_verdicts",
    "rerender_html",
    "sign_run",
    "verify_run",
    "write_run_dir",
]
