"""The requirement catalogue: YAML loading and validation, merge with the rule registry, coverage."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from conformance.cli import app
from conformance.findings import RuleRegistry, Severity, Violation, rules
from conformance.requirements import (
    Catalogue,
    CatalogueError,
    compute_coverage,
    default_directory,
    load_catalogue,
    load_file,
)

GOOD = """\
requirements:
  - id: EX_2.1-1140
    title: Only an author may add or replace a document
    source: DMPi v2.10
    level: SHALL
    actor: LPS
    transaction: [TD2.1, ITI-41]
    profile: Alimentation
  - id: PRE_GEN
    title: The vendor has read the guide
    source: DevBox
    level: SHALL
    actor: LPS
    profile: [Accès, Consultation]
    manual: attestation
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def shipped() -> Catalogue:
    return load_catalogue()


def test_shipped_catalogue_loads_and_holds_the_official_ids(shipped: Catalogue) -> None:
    for rid in (
        "EX_2.1-1140",
        "RG_0320",
        "PRE_TPS",
        "EX_3.1-1030",
        "RG_3430",
        "BENCH-WSA",
        "BENCH-DMP-TD2.1",
    ):
        assert rid in shipped
    assert shipped.get("RG_0320").manual  # a user-interface rule is attested, not tested
    assert shipped.get("EX_2.1-1140").transactions == ("TD2.1", "ITI-41")


def test_every_registered_rule_is_a_requirement(shipped: Catalogue) -> None:
    missing = [r.id for r in rules if r.id not in shipped]
    assert not missing
    for rule in rules:
        assert rule.id in shipped.get(rule.id).rules


def test_good_file_parses_lists_and_manual(tmp_path: Path) -> None:
    first, second = load_file(write(tmp_path, "a.yaml", GOOD))
    assert first.profiles == ("Alimentation",) and first.mandatory and first.manual is None
    assert second.profiles == ("Accès", "Consultation") and second.manual == "attestation"
    assert first.origin.endswith("a.yaml:2")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("level: SHALL", "level: MUST"),
            "a.yaml:2: EX_2.1-1140: level 'MUST' is not one of SHALL, SHOULD, MAY",
        ),
        (("profile: Alimentation", "profile: Feeding"), "a.yaml:2: EX_2.1-1140: profile 'Feeding'"),
        (
            ("actor: LPS\n    transaction", "actor: EAI\n    transaction"),
            "a.yaml:2: EX_2.1-1140: actor 'EAI'",
        ),
        (("    source: DevBox\n", ""), "a.yaml:9: requirement 'PRE_GEN' lacks source"),
        (
            ("    manual: attestation", "    manual: attestation\n    owner: me"),
            "a.yaml:9: unknown key(s) owner",
        ),
        (("id: PRE_GEN", "id: PRE GEN"), "a.yaml:9: id 'PRE GEN' must start with a letter"),
        (("manual: attestation", "manual: ''"), "a.yaml:9: PRE_GEN: manual must give the reason as text"),
    ],
)
def test_bad_entry_names_file_and_line(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    path = write(tmp_path, "a.yaml", GOOD.replace(*change, 1))
    with pytest.raises(CatalogueError, match=None) as error:
        load_file(path)
    assert expected in str(error.value)


def test_bad_yaml_and_bad_shape(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match=r"b\.yaml:3: not valid YAML"):
        load_file(write(tmp_path, "b.yaml", "requirements:\n  - id: X\n    title: a: b\n  - id: Y\n"))
    with pytest.raises(CatalogueError, match=r"c\.yaml:1: expected a top-level 'requirements:' list"):
        load_file(write(tmp_path, "c.yaml", "- id: X\n"))


def test_duplicate_id_across_files(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD)
    write(tmp_path, "b.yaml", GOOD)
    with pytest.raises(
        CatalogueError, match=r"b\.yaml:2: duplicate id EX_2.1-1140 \(first defined at .*a\.yaml:2\)"
    ):
        load_catalogue(tmp_path, with_rules=False)


def test_rules_merge_and_imply_their_requirement(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD)
    registry = RuleRegistry()

    @registry.register("BENCH-T-AUTHOR", kind="vihf", title="author check", requirement="EX_2.1-1140")
    def _author(model: object) -> list[Violation]:
        return []

    @registry.register("BENCH-T-HINT", kind="cda", title="a hint", severity=Severity.WARNING)
    def _hint(model: object) -> list[Violation]:
        return []

    catalogue = load_catalogue(tmp_path, with_rules=False).with_rules(registry)
    assert catalogue.get("EX_2.1-1140").rules == ("BENCH-T-AUTHOR",)
    generated = catalogue.get("BENCH-T-HINT")
    assert (generated.level, generated.actor, generated.profiles) == ("SHOULD", "document", ("Documents",))
    coverage = compute_coverage(catalogue, {"t::a": ["BENCH-T-AUTHOR"], "t::b": ["NOPE-1"]})
    assert set(coverage.tested) == {"BENCH-T-AUTHOR", "EX_2.1-1140"}
    assert coverage.unknown == {"NOPE-1": ["t::b"]}
    assert [r.id for r in coverage.untested] == ["BENCH-T-HINT"]
    assert [r.id for r in coverage.manual] == ["PRE_GEN"]
    assert coverage.by_profile()["Alimentation"] == (1, 1, 0)
    assert coverage.by_profile()["Accès"] == (1, 1, 1)  # the vihf rule, and PRE_GEN attested


def test_default_directory_is_the_source_tree() -> None:
    assert (default_directory() / "dmp-lps.yaml").is_file()


TESTS_OK = """\
import pytest

@pytest.mark.requirement("EX_2.1-1140")
def test_known():
    pass
"""


def test_coverage_command_passes_on_known_ids_and_fails_on_unknown(tmp_path: Path) -> None:
    suite = tmp_path / "suite_cov"
    suite.mkdir()
    write(suite, "test_cov_known.py", TESTS_OK)
    runner = CliRunner()
    result = runner.invoke(app, ["requirements", "coverage", str(suite), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"EX_2.1-1140"' in result.output
    write(
        suite, "test_cov_unknown.py", TESTS_OK.replace("EX_2.1-1140", "EX_9.9-9999").replace("known", "unk")
    )
    result = runner.invoke(app, ["requirements", "coverage", str(suite)])
    assert result.exit_code == 1
    assert "unknown requirement ID EX_9.9-9999" in result.output


def test_list_command_filters_by_profile() -> None:
    result = CliRunner().invoke(
        app, ["requirements", "list", "--profile", "Consultation", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert '"RG_3210"' in result.output and '"RG_3430"' not in result.output


def test_unknown_transaction_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match=r"a\.yaml:2: EX_2.1-1140: transaction 'TD21' is neither"):
        load_file(write(tmp_path, "a.yaml", GOOD.replace("[TD2.1, ITI-41]", "[TD21, ITI-41]")))
