"""JUnit XML of a run: one testcase per test, requirement IDs as properties (CI systems read this format)."""

from __future__ import annotations

from lxml import etree

from conformance.reports.model import Outcome, Run


def render_junit(run: Run) -> bytes:
    counts = run.counts()
    total = sum(t.duration for t in run.tests)
    suite = etree.Element(
        "testsuite",
        name="dmp-conformance",
        tests=str(len(run.tests)),
        failures=str(counts["failed"]),
        errors=str(counts["error"]),
        skipped=str(counts["skipped"]),
        time=f"{total:.3f}",
        timestamp=run.started,
    )
    for test in run.tests:
        module, _, name = test.nodeid.rpartition("::")
        case = etree.SubElement(
            suite,
            "testcase",
            classname=module.replace("/", ".").removesuffix(".py"),
            name=name or test.nodeid,
            time=f"{test.duration:.3f}",
        )
        if test.requirements:
            properties = etree.SubElement(case, "properties")
            for rid in test.requirements:
                etree.SubElement(properties, "property", name="requirement", value=rid)
        tag = {Outcome.FAILED: "failure", Outcome.ERROR: "error", Outcome.SKIPPED: "skipped"}.get(
            test.outcome
        )
        if tag:
            element = etree.SubElement(case, tag, message=(test.message or "")[:500])
            if test.details:
                element.text = test.details
    root = etree.Element("testsuites", name=f"dmp-conformance run {run.run_id}")
    root.append(suite)
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")
