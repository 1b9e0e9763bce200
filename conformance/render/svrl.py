"""SVRL output: schematron findings as ``svrl:failed-assert`` / ``svrl:successful-report``.

When the engine kept the raw SVRL of a schematron run as evidence, that SVRL is emitted unchanged;
otherwise an SVRL report is rebuilt from the findings (ours included, as failed asserts).
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from conformance.findings import ArtefactResult, Source

SVRL = "http://purl.oclc.org/dsdl/svrl"


def render(results: Sequence[ArtefactResult]) -> str:
    root = etree.Element(f"{{{SVRL}}}schematron-output-set", nsmap={"svrl": SVRL})
    for result in results:
        raw = [v for k, v in result.evidence.items() if k.startswith("svrl:")]
        if raw:
            for blob in raw:
                root.append(etree.fromstring(blob))
            continue
        output = etree.SubElement(root, f"{{{SVRL}}}schematron-output", title=result.path)
        for f in result.findings:
            tag = "successful-report" if f.extra.get("report") else "failed-assert"
            element = etree.SubElement(output, f"{{{SVRL}}}{tag}", location=f.location or "/",
                                       role=str(f.severity))
            if f.source is not Source.SCHEMATRON:
                element.set("id", f.rule)
            if f.extra.get("test"):
                element.set("test", f.extra["test"])
            etree.SubElement(element, f"{{{SVRL}}}text").text = f.message
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode()
