"""Mutation score of the server-role and property suites: every fault-injected variant of the reference DMP
(``serve --fault NAME``) must make the suites fail with the requirement the fault breaks.

One pytest subprocess per variant runs only the server-role tests aimed at that fault (CI budget: 8 to 25 s per
variant depending on the machine's load). The property suite runs against the variants of
:data:`PROPERTY_TARGETS` (SOAP) and :data:`FHIR_PROPERTY_TARGETS` (the same properties through the FHIR PDSm API)
with a report directory, whose evidence must hold the shrunk minimal failing example.
``DMP_MUTATION_FULL=1`` runs the whole server-role and property suites against every variant and adds the
visibility state machine (about two minutes of shrinking per variant).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.server.faults import FAULTS

ROOT = Path(__file__).resolve().parents[2]
SR = "conformance/suites/server_role/"
INTEGRITY, ACCESS = f"{SR}test_integrity.py::", f"{SR}test_access.py::"
PROPS = "conformance/suites/properties/"
FULL = bool(os.environ.get("DMP_MUTATION_FULL"))
KILL_RATE = 0.95
# pytest plugins the suites do not need: each costs start-up time in every subprocess
LEAN = ["-p", "no:schemathesis", "-p", "no:faker", "-p", "no:allure_pytest", "-p", "no:anyio", "-p", "no:cacheprovider"]

TARGETS: dict[str, list[str]] = {
    "skip-hash": [f"{INTEGRITY}test_fed_document_has_the_hash_size_and_bytes_it_was_fed_with"],
    "wrong-size": [f"{INTEGRITY}test_fed_document_has_the_hash_size_and_bytes_it_was_fed_with"],
    "accept-hash-mismatch": [f"{INTEGRITY}test_invalid_submission_is_refused_with_its_code_and_leaves_no_trace"],
    "partial-commit": [f"{INTEGRITY}test_fed_document_has_the_hash_size_and_bytes_it_was_fed_with"],
    "retrieve-wrong-bytes": [f"{INTEGRITY}test_fed_document_has_the_hash_size_and_bytes_it_was_fed_with"],
    "wrong-error-code": [f"{INTEGRITY}test_duplicate_unique_id_is_refused_and_the_first_document_kept"],
    "accept-duplicate-uniqueid": [f"{INTEGRITY}test_duplicate_unique_id_is_refused_and_the_first_document_kept"],
    "no-deprecate-on-replace": [f"{INTEGRITY}test_replacing_twice_keeps_exactly_one_approved_version"],
    "ignore-status-filter": [f"{SR}test_transactions.py"],
    "archive-as-delete": [f"{INTEGRITY}test_archiving_keeps_the_document_as_archived"],
    "no-access-history": [f"{INTEGRITY}test_every_find_is_in_the_access_history"],
    "leak-masked": [f"{ACCESS}test_masked_document_is_hidden_from_another_professional"],
    "ignore-revoked-authorization": [f"{ACCESS}test_revoked_authorization_gives_no_access"],
    "author-rule-off": [f"{SR}test_errors.py::test_feed_by_someone_who_is_not_an_author_is_refused"],
    "accept-delete-by-other": [f"{ACCESS}test_a_professional_cannot_delete_another_professionals_document"],
    "find-ignores-patient": [f"{ACCESS}test_find_documents_returns_only_the_named_patients_documents"],
    "td31-in-indirect-mode": [f"{ACCESS}test_td31_is_refused_in_indirect_mode"],
    "accept-expired-vihf": [f"{ACCESS}test_untrusted_vihf_is_refused"],
    "accept-unsigned-vihf": [f"{ACCESS}test_untrusted_vihf_is_refused"],
    "wrong-relatesto": [f"{INTEGRITY}test_response_relates_to_the_request_message_id"],
    "wrong-response-action": [f"{SR}test_transactions.py"],
    "fault-as-200": [f"{SR}test_errors.py::test_malformed_request_gets_a_soap_fault"],
    "unknown-patient-wrong-code": [f"{INTEGRITY}test_search_on_a_patient_without_dmp_is_refused_with_unknown_patient"],
}
SUBMISSIONS = f"{PROPS}test_submissions.py::"
PROPERTY_TARGETS: dict[str, str] = {  # the property suite must catch these, with a shrunk example
    "wrong-size": f"{SUBMISSIONS}test_valid_submission_is_retrievable_byte_for_byte",
    "accept-hash-mismatch": f"{SUBMISSIONS}test_invalid_submission_is_rejected_with_its_code_and_leaves_no_trace",
    "wrong-error-code": f"{SUBMISSIONS}test_duplicate_unique_ids_are_refused",
    "accept-duplicate-uniqueid": f"{SUBMISSIONS}test_duplicate_unique_ids_are_refused",
    "no-deprecate-on-replace": f"{SUBMISSIONS}test_replacing_keeps_exactly_one_approved_version",
}
FHIR_SUBMISSIONS = f"{PROPS}test_fhir_submissions.py::"
FHIR_ROUND_TRIP = f"{FHIR_SUBMISSIONS}test_valid_bundle_is_retrievable_byte_for_byte"
FHIR_CROSS = f"{FHIR_SUBMISSIONS}test_a_document_fed_over_one_api_is_the_same_over_the_other"
FHIR_DUPLICATE = f"{FHIR_SUBMISSIONS}test_duplicate_master_identifiers_are_refused"
FHIR_PROPERTY_TARGETS: dict[str, str] = {  # the same properties through the FHIR PDSm API (about 10 s each)
    "retrieve-wrong-bytes": FHIR_ROUND_TRIP,
    "skip-hash": FHIR_CROSS,  # a SOAP fault: the document fed over FHIR has a wrong hash over SOAP
    "accept-duplicate-uniqueid": FHIR_DUPLICATE,
    "no-deprecate-on-replace": f"{FHIR_SUBMISSIONS}test_replacing_keeps_exactly_one_current_version",
    "author-rule-off": f"{FHIR_SUBMISSIONS}test_invalid_bundle_is_rejected_with_its_issue_and_leaves_no_trace",
}
VISIBILITY = f"{PROPS}test_visibility.py::test_masking_and_authorizations_never_leak_a_document"
if FULL:  # the state machine shrinks sequences of exchanges: about two minutes per variant
    PROPERTY_TARGETS |= {"leak-masked": VISIBILITY, "ignore-revoked-authorization": VISIBILITY}
    FHIR_PROPERTY_TARGETS |= {"partial-commit": FHIR_ROUND_TRIP, "wrong-size": FHIR_CROSS, "wrong-error-code": FHIR_DUPLICATE,
                              "leak-masked": f"{VISIBILITY}_through_fhir",
                              "ignore-revoked-authorization": f"{VISIBILITY}_through_fhir"}


@dataclass(frozen=True, slots=True)
class SuiteRun:
    returncode: int
    results: list[dict[str, object]]
    seconds: float
    output: str

    def failed(self) -> list[dict[str, object]]:
        return [r for r in self.results if r["outcome"] == "failed"]

    def failed_requirements(self) -> set[str]:
        return {str(req) for r in self.failed() for req in r["requirements"]}  # type: ignore[attr-defined]


def run_suites(targets: list[str], work: Path, *, fault: str | None = None, report_dir: Path | None = None
               ) -> SuiteRun:
    """The suites on ``targets`` against the embedded reference DMP (the ``fault`` variant when given)."""
    log = work / f"{fault or 'conformant'}.jsonl"
    log.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pytest", *targets, "-q", "--no-header", "-p", "no:randomly", *LEAN,
               "-p", "tests.mutation.requirement_log", "--hypothesis-profile", "ci",
               "--basetemp", str(work / f"tmp-{fault or 'conformant'}")]
    if fault:
        command += ["--dmp-options", f"--fault {fault}"]
    if report_dir is not None:
        command += ["--report-dir", str(report_dir)]
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "DMP_MUTATION_LOG": str(log), "HYPOTHESIS_PROFILE": "ci"})
    results = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return SuiteRun(done.returncode, results, time.monotonic() - started, done.stdout[-3000:] + done.stderr[-2000:])


def _targets(fault: str) -> list[str]:
    return [SR, PROPS] if FULL else TARGETS[fault]


def _report(tmp_path: Path, runs: dict[str, SuiteRun]) -> dict[str, object]:
    outcome = {name: {"breaks": FAULTS[name].breaks, "killed": FAULTS[name].breaks in run.failed_requirements(),
                      "failed_tests": [r["nodeid"] for r in run.failed()], "seconds": round(run.seconds, 1)}
               for name, run in runs.items()}
    killed = [n for n, o in outcome.items() if o["killed"]]
    summary = {"kill_rate": len(killed) / len(outcome), "killed": len(killed), "variants": len(outcome),
               "variants_detail": outcome}
    (tmp_path / "mutation.json").write_text(json.dumps(summary, indent=2))
    return summary


def test_every_fault_has_targets_and_a_catalogued_requirement() -> None:
    from conformance.requirements import load_catalogue

    assert len(FAULTS) >= 20
    assert set(TARGETS) == set(FAULTS), f"faults without targets: {set(FAULTS) ^ set(TARGETS)}"
    catalogue = load_catalogue()
    unknown = {f.name: f.breaks for f in FAULTS.values() if f.breaks not in catalogue}
    assert not unknown, f"faults breaking requirements missing from the catalogue: {unknown}"
    assert len(PROPERTY_TARGETS) >= 5


@pytest.mark.slow
def test_targets_pass_against_the_conformant_dmp(tmp_path: Path) -> None:
    """Kills only count if the same tests pass against the conformant reference DMP."""
    targets = list(dict.fromkeys([t for ts in TARGETS.values() for t in ts]
                                 + list(PROPERTY_TARGETS.values()) + list(FHIR_PROPERTY_TARGETS.values())))
    run = run_suites(targets, tmp_path)
    assert run.returncode == 0 and not run.failed(), run.output


@pytest.mark.slow
def test_kill_rate_of_the_server_role_suite_on_fault_injected_variants(tmp_path: Path) -> None:
    runs = {name: run_suites(_targets(name), tmp_path, fault=name) for name in sorted(FAULTS)}
    summary = _report(tmp_path, runs)
    survivors = {n: o for n, o in summary["variants_detail"].items() if not o["killed"]}  # type: ignore[attr-defined]
    print(f"kill rate {summary['kill_rate']:.0%} ({summary['killed']}/{summary['variants']}); survivors {survivors}")
    assert summary["kill_rate"] >= KILL_RATE, f"kill rate {summary['kill_rate']:.0%} < {KILL_RATE:.0%}; " \
        f"survivors: {json.dumps(survivors, indent=1)}"


def _caught_with_a_minimal_example(targets: dict[str, str], tmp_path: Path) -> dict[str, dict[str, object]]:
    """The variants whose property target failed with a shrunk minimal example in the report evidence."""
    caught = {}
    for name, target in targets.items():
        report_dir = tmp_path / f"report-{name}"
        run = run_suites([target], tmp_path, fault=name, report_dir=report_dir)
        examples = [p.read_text(encoding="utf-8") for p in report_dir.rglob("minimal-failing-example.txt")]
        if run.failed() and examples:
            caught[name] = {"seconds": round(run.seconds, 1), "minimal_example": examples[0].split("\n\n")[0]}
    print(json.dumps(caught, indent=1))
    return caught


@pytest.mark.slow
def test_property_suite_fails_on_variants_with_a_minimal_example(tmp_path: Path) -> None:
    caught = _caught_with_a_minimal_example(PROPERTY_TARGETS, tmp_path)
    (tmp_path / "property-mutation.json").write_text(json.dumps(caught, indent=2))
    assert len(caught) >= 5, f"the property suite caught only {sorted(caught)} with a minimal example"


@pytest.mark.slow
def test_fhir_properties_fail_on_variants_with_a_minimal_example(tmp_path: Path) -> None:
    caught = _caught_with_a_minimal_example(FHIR_PROPERTY_TARGETS, tmp_path)
    assert set(caught) == set(FHIR_PROPERTY_TARGETS), \
        f"the FHIR properties missed {sorted(set(FHIR_PROPERTY_TARGETS) - set(caught))}"
