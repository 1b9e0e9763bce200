import json

import pytest
from lxml import etree

from conformance.findings import ArtefactResult, Finding, RuleRegistry, Severity, Source, Violation
from conformance.render import FORMATS, renderer


def _result() -> ArtefactResult:
    return ArtefactResult(path="doc.xml", kind="cda", findings=[
        Finding("BENCH-INS-KEY", Severity.ERROR, Source.RULE, "INS key is 04, expected 83",
                location="/cda:ClinicalDocument/cda:recordTarget", line=12, hint="fix the key"),
        Finding("XML-BOM", Severity.WARNING, Source.XML, "BOM", line=1),
    ])


def test_registry_wraps_violations_with_rule_identity():
    registry = RuleRegistry()

    @registry.register("BENCH-T-1", kind="demo", title="demo", hint="default hint")
    def check(model):
        if model < 0:
            yield Violation("negative", location="/x")

    assert registry.run("demo", 1) == []
    [finding] = registry.run("demo", -1)
    assert finding.rule == "BENCH-T-1" and finding.severity is Severity.ERROR and finding.hint == "default hint"


def test_registry_refuses_duplicate_ids_and_survives_a_crashing_rule():
    registry = RuleRegistry()
    registry.register("BENCH-T-2", kind="demo", title="t")(lambda m: iter([]))
    with pytest.raises(ValueError):
        registry.register("BENCH-T-2", kind="demo", title="t")(lambda m: iter([]))

    @registry.register("BENCH-T-3", kind="demo", title="boom")
    def boom(model):
        raise KeyError("x")
        yield  # pragma: no cover

    [finding] = registry.run("demo", None)
    assert finding.rule == "BENCH-T-3" and "could not be evaluated" in finding.message


def test_validity_depends_on_errors_only():
    result = _result()
    assert not result.valid
    result.findings.pop(0)
    assert result.valid


def test_json_contract():
    data = json.loads(renderer("json")([_result()]))
    [doc] = data["documents"]
    assert set(doc) >= {"path", "kind", "valid", "findings"}
    assert doc["valid"] is False
    assert set(doc["findings"][0]) >= {"rule", "severity", "source", "location", "line", "message"}


@pytest.mark.parametrize("name", FORMATS)
def test_every_renderer_names_the_rule(name):
    assert "BENCH-INS-KEY" in renderer(name)([_result()])


def test_junit_and_svrl_are_well_formed_xml():
    junit = etree.fromstring(renderer("junit")([_result()]).encode())
    assert junit.find("testsuite").get("failures") == "1"
    svrl = etree.fromstring(renderer("svrl")([_result()]).encode())
    assert len(svrl.findall(".//{http://purl.oclc.org/dsdl/svrl}failed-assert")) == 2


def test_sarif_levels():
    run = json.loads(renderer("sarif")([_result()]))["runs"][0]
    assert [r["level"] for r in run["results"]] == ["error", "warning"]


def test_unknown_format():
    with pytest.raises(ValueError, match="choose one of"):
        renderer("pdf")


def test_text_output_keeps_xpath_predicates():
    result = ArtefactResult(path="[odd].xml", kind="cda", findings=[
        Finding("R-1", Severity.ERROR, Source.RULE, "m", location="/cda:a/cda:id[@root='1.2']")])
    text = renderer("text")([result])
    assert "cda:id[@root='1.2']" in text and "[odd].xml" in text
