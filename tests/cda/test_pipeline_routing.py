"""The volet routing table (data) against the official pipeline's choices in the golden verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cda.document import CdaDocument
from conformance.cda.routing import load_routing, route_document
from conformance.xml import parse_xml


def _golden(golden_dir: Path) -> list[tuple[str, Path, str | None]]:
    """(label, file, golden volet schematron) for every official example and mutant."""
    cases = []
    for line in (golden_dir / "examples.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        cases.append((record["document"], Path(record["document"]), record["volet_schematron"]))
    for line in (golden_dir / "mutants.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        cases.append((record["id"], golden_dir / record["file"], record["volet_schematron"]))
    return cases


@pytest.mark.official
def test_routing_equals_the_official_choice_for_every_example_and_mutant(golden_dir: Path,
                                                                          cisis_package: Path) -> None:
    mismatches = []
    cases = _golden(golden_dir)
    for label, file, expected in cases:
        path = file if file.is_absolute() else cisis_package / file
        route = route_document(CdaDocument.from_tree(parse_xml(path.read_bytes()), label))
        if route.schematron != expected:
            mismatches.append(f"{label}: routed to {route.schematron}, official {expected}")
    assert len(cases) >= 94
    assert mismatches == []


@pytest.mark.official
def test_table_agrees_with_the_golden_mapping(golden_dir: Path) -> None:
    mapping = json.loads((golden_dir / "schematron-mapping.json").read_text(encoding="utf-8"))
    table = load_routing()
    golden = {(e["root"], e["extension"]): e["schematron"] for e in mapping["by_templateId"]}
    ours = {key: schematron for key, (schematron, _) in table.by_template.items() if schematron}
    assert ours == golden
    assert [p.schematron for p in table.profils] == mapping["profils_always_run"]
    assert {e["code"]: e["schematron"] for e in mapping["by_document_code_non_structured"]} == \
        {code: schematron for code, (schematron, _) in table.by_code.items()}


@pytest.mark.official
def test_every_routed_schematron_exists_in_the_package(cisis_package: Path) -> None:
    table = load_routing()
    missing = sorted(s for s in table.volet_schematrons | {p.schematron for p in table.profils}
                     if not (cisis_package / s).is_file())
    assert missing == []


def _route(template_ids: list[tuple[str, str | None]], code: str = "11490-0") -> str | None:
    return load_routing().route(template_ids, code).schematron


def test_first_known_template_id_wins_and_extension_matters() -> None:
    strucmin = ("1.2.250.1.213.1.1.1.1", None)
    assert _route([strucmin, ("1.2.250.1.213.1.1.1.29", "2022.01")]) == "schematrons/CI-SIS_LDL-SES_2022.01.sch"
    assert _route([strucmin, ("1.2.250.1.213.1.1.1.29", "2099.01")]) is None  # unknown version: no volet
    assert _route([("1.2.250.1.213.1.1.1.55", None)]) == "schematrons/CI-SIS_BIO-CR-BIO_2021.01.sch"
    assert _route([("1.2.250.1.213.1.1.1.55", "2024.01")]) == "schematrons/CI-SIS_BIO-CR-BIO_2024.01.sch"


def test_non_structured_documents_route_on_the_document_code() -> None:
    xds_sd = ("1.3.6.1.4.1.19376.1.2.20", None)
    table = load_routing()
    tlm_cr = table.route([xds_sd], "85208-7")
    assert (tlm_cr.schematron, tlm_cr.reason) == ("schematrons/CI-SIS_TLM-CR_2022.01.sch", "document-code")
    assert tlm_cr.volet == "TLM-CR_2022.01"
    assert table.route([xds_sd], "11502-2").schematron is None
    # the code alone routes nothing for a structured document
    assert table.route([("1.2.250.1.213.1.1.1.1", None)], "85208-7").schematron is None


def test_explicit_no_volet_outcome() -> None:
    route = load_routing().route([("1.2.250.1.213.1.1.1.13", None)], "60591-5")
    assert (route.schematron, route.reason) == (None, "templateId-no-volet")
    assert route.note and "catalogue" in route.note
