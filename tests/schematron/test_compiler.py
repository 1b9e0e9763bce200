"""The ISO Schematron compiler on small hand-written schematrons, each feature with a passing and a failing
instance document (real Saxon runs, no mocks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.findings import Severity
from conformance.schematron import SchematronEngine

SCH = 'xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2"'
SVS = ('<RetrieveValueSetResponse xmlns="urn:ihe:iti:svs:2008"><ValueSet id="1.2.3"><ConceptList>'
       '<Concept code="A" codeSystem="9.9"/></ConceptList></ValueSet></RetrieveValueSetResponse>')

MAIN = f"""<schema {SCH} defaultPhase="main">
  <ns prefix="t" uri="urn:test"/>
  <ns prefix="svs" uri="urn:ihe:iti:svs:2008"/>
  <include href="include/Abstract.sch"/>
  <include href="include/Rules.sch"/>
  <include href="include/MIXEDCASE.sch"/>
  <phase id="main">
    <p>phases may contain text</p>
    <active pattern="variables"/><active pattern="first-match"/><active pattern="code-in-set"/>
    <active pattern="report"/><active pattern="extends"/><active pattern="mixed"/><active pattern="diag"/>
  </phase>
  <phase id="other"><active pattern="inactive"/></phase>
  <pattern id="variables">
    <let name="JDV_test" value="'../jeuxDeValeurs/JDV_test.xml'"/>
    <let name="JDV_missing" value="'../jeuxDeValeurs/JDV_absent.xml'"/>
  </pattern>
  <pattern id="inactive"><rule context="t:doc"><assert test="false()">never (inactive phase)</assert></rule></pattern>
  <pattern id="first-match">
    <rule context="t:item[@special]"><assert test="@special = 'yes'">special item <value-of select="@n"/> must be yes</assert></rule>
    <rule context="t:item"><assert test="@n">item <name/> needs @n</assert></rule>
  </pattern>
  <pattern id="code-in-set" is-a="inSet">
    <param name="path_jdv" value="$JDV_test"/>
    <param name="xpath_elt" value="t:code"/>
  </pattern>
  <pattern id="report">
    <rule context="t:doc"><report test="t:forbidden" role="warning">forbidden element present</report></rule>
  </pattern>
  <pattern id="diag">
    <rule context="t:doc"><assert test="count(t:item) &lt; 5" diagnostics="d1">too many items</assert></rule>
  </pattern>
  <diagnostics><diagnostic id="d1">found <value-of select="count(t:item)"/> items</diagnostic></diagnostics>
</schema>"""

ABSTRACT = f"""<pattern {SCH.split(' queryBinding')[0]} abstract="true" id="inSet">
  <rule context="$xpath_elt">
    <let name="c" value="@code"/>
    <assert test="document($path_jdv)//svs:Concept[@code = $c]">code <value-of select="$c"/> not in <value-of select="$path_jdv"/></assert>
  </rule>
</pattern>"""

RULES = f"""<pattern {SCH.split(' queryBinding')[0]} id="extends">
  <rule abstract="true" id="has-n"><assert test="@n" role="info">needs @n</assert><extends rule="has-v"/></rule>
  <rule abstract="true" id="has-v"><let name="v" value="@v"/><assert test="$v">needs @v</assert></rule>
  <rule abstract="true" id="uses-outer"><assert test="$outer = 'ok'">outer variable not ok</assert></rule>
  <rule context="t:box"><extends rule="has-n"/></rule>
  <rule context="t:crate"><let name="outer" value="string(@state)"/><extends rule="uses-outer"/></rule>
</pattern>"""

MIXED = f"""<pattern {SCH.split(' queryBinding')[0]} id="mixed">
  <rule context="t:doc/t:missing-set"><assert test="document($JDV_missing)//svs:Concept">empty value set</assert></rule>
</pattern>"""


@pytest.fixture
def package(tmp_path: Path) -> Path:
    root = tmp_path / "package"
    (root / "schematrons" / "include").mkdir(parents=True)
    (root / "jeuxDeValeurs").mkdir()
    (root / "schematrons" / "main.sch").write_text(MAIN, encoding="utf-8")
    (root / "schematrons" / "include" / "Abstract.sch").write_text(ABSTRACT, encoding="utf-8")
    (root / "schematrons" / "include" / "Rules.sch").write_text(RULES, encoding="utf-8")
    (root / "schematrons" / "include" / "mixedCase.sch").write_text(MIXED, encoding="utf-8")  # href differs in case
    (root / "schematrons" / "broken.sch").write_text(f'<schema {SCH}><include href="nowhere/x.sch"/></schema>')
    (root / "jeuxDeValeurs" / "JDV_test.xml").write_text(SVS, encoding="utf-8")
    return root


@pytest.fixture
def engine(package: Path, tmp_path: Path) -> SchematronEngine:
    return SchematronEngine(package, tmp_path / "cache")


def run(engine: SchematronEngine, body: str) -> dict[str, list[tuple[str, str]]]:
    result = engine.validate("schematrons/main.sch", f'<doc xmlns="urn:test">{body}</doc>'.encode())
    assert result.status == "ok", result.error
    out: dict[str, list[tuple[str, str]]] = {}
    for assertion in [*result.failed_asserts, *result.successful_reports]:
        out.setdefault(assertion.pattern or "", []).append((assertion.location, assertion.text))
    return out


def test_valid_instance_has_no_finding(engine: SchematronEngine) -> None:
    assert run(engine, '<item n="1"/><item n="2" special="yes"/><code code="A"/><box n="1" v="2"/>'
                       '<crate state="ok"/>') == {}


def test_first_matching_rule_per_pattern(engine: SchematronEngine) -> None:
    # The special item fires only the first rule (no "needs @n" for it); the plain one fires the second.
    found = run(engine, '<item special="no"/><item/>')["first-match"]
    assert found == [("/doc/item", "special item must be yes"), ("/doc/item[2]", "item item needs @n")]


def test_abstract_pattern_value_set_through_global_let(engine: SchematronEngine) -> None:
    found = run(engine, '<code code="A"/><code code="B"/>')["code-in-set"]
    assert found == [("/doc/code[2]", "code B not in ../jeuxDeValeurs/JDV_test.xml")]


def test_report_fires_when_true(engine: SchematronEngine) -> None:
    assert "report" not in run(engine, "")
    result = engine.validate("schematrons/main.sch", b'<doc xmlns="urn:test"><forbidden/></doc>')
    [report] = result.successful_reports
    assert (report.kind, report.text, report.role) == ("successful-report", "forbidden element present", "warning")
    [finding] = [f for f in result.findings() if f.extra["kind"] == "successful-report"]
    assert finding.severity is Severity.WARNING and finding.rule == "CI-SIS:main:report"


def test_extends_recursive_and_inlined_when_sharing_variables(engine: SchematronEngine) -> None:
    found = run(engine, '<box/><crate state="ko"/>')["extends"]
    assert found == [("/doc/box", "needs @n"), ("/doc/box", "needs @v"), ("/doc/crate", "outer variable not ok")]


def test_diagnostics_are_expanded(engine: SchematronEngine) -> None:
    result = engine.validate("schematrons/main.sch", ('<doc xmlns="urn:test">' + '<item n="1"/>' * 5
                                                       + "</doc>").encode())
    [assertion] = [a for a in result.failed_asserts if a.pattern == "diag"]
    assert assertion.diagnostics == ["found 5 items"]


def test_phase_selects_patterns_and_counts(engine: SchematronEngine) -> None:
    result = engine.validate("schematrons/main.sch", b'<doc xmlns="urn:test"><item n="1"/></doc>')
    assert result.active_patterns == 7  # the inactive pattern is not run
    assert result.fired_rules == 3  # item, doc (report), doc (diag); nothing for the inactive pattern


def test_missing_value_set_is_empty_with_a_warning(engine: SchematronEngine) -> None:
    found = run(engine, "<missing-set/>")["mixed"]
    assert found == [("/doc/missing-set", "empty value set")]
    rules = {f.rule: f for f in engine.package_findings}
    assert "jeuxDeValeurs/JDV_absent.xml" in (rules["BENCH-PKG-MISSING-FILE"].location or "")
    assert rules["BENCH-PKG-CASE-ALIAS"].severity is Severity.WARNING  # include/MIXEDCASE.sch


def test_broken_schematron_is_a_compile_error(engine: SchematronEngine) -> None:
    result = engine.validate("schematrons/broken.sch", b"<doc/>")
    assert result.status == "compile_error" and "nowhere/x.sch" in (result.error or "")
    assert [f.rule for f in result.findings()] == ["BENCH-PKG-VOLET-BROKEN"]


def test_malformed_document_is_a_run_error(engine: SchematronEngine) -> None:
    result = engine.validate("schematrons/main.sch", b"<doc><unclosed></doc>")
    assert result.status == "run_error" and result.findings()[0].rule == "BENCH-SCH-RUN-ERROR"


def test_generated_xslt_is_cached(engine: SchematronEngine, package: Path, tmp_path: Path) -> None:
    engine.prepare(["schematrons/main.sch"])
    [xsl] = list((tmp_path / "cache").rglob("main.schx.xsl"))
    stamp = xsl.stat().st_mtime_ns
    again = SchematronEngine(package, tmp_path / "cache")
    assert again.validate("schematrons/main.sch", b'<doc xmlns="urn:test"/>').status == "ok"
    assert xsl.stat().st_mtime_ns == stamp
    assert {f.rule for f in again.package_findings} >= {"BENCH-PKG-CASE-ALIAS", "BENCH-PKG-MISSING-FILE"}


def test_findings_carry_rule_severity_location_and_hint(engine: SchematronEngine) -> None:
    result = engine.validate("schematrons/main.sch", b'<doc xmlns="urn:test"><code code="Z"/><box n="1" v="1"/></doc>')
    [finding] = result.findings()
    assert finding.rule == "CI-SIS:main:code-in-set" and finding.severity is Severity.ERROR
    assert finding.location == "/doc/code" and finding.message == "code Z not in ../jeuxDeValeurs/JDV_test.xml"
    assert finding.extra["schematron"] == "schematrons/main.sch" and finding.extra["test"] == "document($JDV_test)//svs:Concept[@code = $c]"
    assert finding.hint


def test_engine_is_memoised_per_package(package: Path, tmp_path: Path) -> None:
    from conformance.schematron import get_engine

    assert get_engine(package, tmp_path / "c") is get_engine(package, tmp_path / "c")


def test_unknown_or_escaping_schematron_is_a_compile_error(engine: SchematronEngine) -> None:
    for name in ("schematrons/none.sch", "../outside.sch"):
        result = engine.validate(name, b"<doc/>")
        assert result.status == "compile_error" and result.findings()[0].rule == "BENCH-SCH-NOT-FOUND"


def test_malformed_value_set_is_reported_and_stops_only_its_rules(package: Path, tmp_path: Path) -> None:
    (package / "jeuxDeValeurs" / "JDV_test.xml").write_text("<RetrieveValueSetResponse>", encoding="utf-8")
    engine = SchematronEngine(package, tmp_path / "cache2")
    assert engine.validate("schematrons/main.sch", b'<doc xmlns="urn:test"/>').status == "ok"
    result = engine.validate("schematrons/main.sch", b'<doc xmlns="urn:test"><code code="A"/></doc>')
    assert result.status == "run_error" and "SXXP0003" in (result.error or "")
    assert "BENCH-PKG-BAD-FILE" in {f.rule for f in engine.package_findings}
