"""Hostile and damaged messages never crash the soap kind, and no rule fails to evaluate on them."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from conformance.findings import ArtefactResult
from conformance.soap import to_bytes
from conformance.validation import ValidationContext, validate_bytes
from conformance.xds import builders
from conformance.xds.queries import find_documents

from ..xds.samples import PATIENT_ID, sample_submission

ENVELOPES = [to_bytes(builders.td21_request(sample_submission()).envelope),
             to_bytes(builders.td31_request(find_documents(PATIENT_ID)).envelope)]
MTOM_BODY = builders.td21_request(sample_submission()).to_http()[0]  # built once: boundary and ids are random
CONTEXT = ValidationContext(lenient=True)


def _validate(data: bytes) -> ArtefactResult:
    result = validate_bytes(data, "fuzz", CONTEXT, kind="soap")
    broken = [f.message for f in result.findings if "could not be evaluated" in f.message]
    assert broken == [], broken
    return result


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(range(len(ENVELOPES))), st.data())
def test_removing_or_rewriting_any_node_never_crashes(which: int, data: st.DataObject):
    root = etree.fromstring(ENVELOPES[which])
    elements = [e for e in root.iter() if isinstance(e.tag, str) and e is not root]
    target = data.draw(st.sampled_from(elements))
    action = data.draw(st.sampled_from(["remove", "text", "attribute", "duplicate"]))
    if action == "remove":
        target.getparent().remove(target)
    elif action == "text":
        target.text = data.draw(st.text(st.sampled_from("a1^&'()<>é "), max_size=12))
    elif action == "attribute" and target.attrib:
        name = data.draw(st.sampled_from(sorted(target.attrib)))
        target.set(name, data.draw(st.text(st.sampled_from("a1:^&' "), max_size=8)))
    elif action == "duplicate":
        target.addnext(etree.fromstring(etree.tostring(target)))
    _validate(etree.tostring(root))


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.data())
def test_damaged_mtom_bytes_never_crash(data: st.DataObject):
    body = MTOM_BODY
    cut = data.draw(st.integers(0, len(body)))
    noise = data.draw(st.binary(max_size=20))
    damaged = body[:cut] + noise + body[cut + len(noise):]
    _validate(damaged)
