"""JUnit XML: one testsuite, one testcase per artefact; error findings become failures."""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from conformance.findings import ArtefactResult, Finding


def _describe(finding: Finding) -> str:
    where = f" at {finding.location}" if finding.location else ""
    line = f" (line {finding.line})" if finding.line else ""
    hint = f"\n  hint: {finding.hint}" if finding.hint else ""
    return f"[{finding.rule}] {finding.severity}: {finding.message}{where}{line}{hint}"


def render(results: Sequence[ArtefactResult]) -> str:
    failures = sum(1 for r in results if not r.valid)
    suite = etree.Element("testsuite", name="dmp-conformance.validate", tests=str(len(results)),
                          failures=str(failures), errors="0", skipped="0")
    for result in results:
        case = etree.SubElement(suite, "testcase", classname=f"validate.{result.kind}", name=result.path)
        errors = [f for f in result.findings if f.is_error]
        if errors:
            failure = etree.SubElement(case, "failure", message=f"{len(errors)} error(s); first: {errors[0].message}"[:500],
                                       type=errors[0].rule)
            failure.text = "\n".join(_describe(f) for f in errors)
        others = [f for f in result.findings if not f.is_error]
        if others:
            etree.SubElement(case, "system-out").text = "\n".join(_describe(f) for f in others)
    root = etree.Element("testsuites")
    root.append(suite)
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode()
