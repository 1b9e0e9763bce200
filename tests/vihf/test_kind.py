"""The ``vihf`` artefact kind: bare token files go through the generic validation entry point."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from lxml import etree

import conformance.vihf.kind as vihf_kind
from conformance.validation import ValidationContext, validate_bytes
from conformance.vihf import Vihf, VihfPolicy

from .conftest import NOW
from .helpers import envelope


def test_detects_bare_assertions_only(make_vihf: Callable[..., Vihf], signed: Callable[..., etree._Element]) -> None:
    token = etree.tostring(signed(make_vihf()))
    assert vihf_kind.detect(token)
    assert vihf_kind.detect(b"\xef\xbb\xbf<?xml version='1.0'?>\n" + token)
    assert not vihf_kind.detect(etree.tostring(envelope(signed(make_vihf()))))
    assert not vihf_kind.detect(b"<ClinicalDocument xmlns='urn:hl7-org:v3'/>")


def test_validates_through_the_generic_entry_point(make_vihf: Callable[..., Vihf],
                                                   signed: Callable[..., etree._Element],
                                                   policy: VihfPolicy) -> None:
    token = etree.tostring(signed(make_vihf()))
    trusted = validate_bytes(token, "token.xml", ValidationContext(options={"vihf_policy": policy}), kind="vihf")
    assert trusted.kind == "vihf" and trusted.valid and trusted.findings == []
    untrusted = validate_bytes(token, "token.xml", ValidationContext(options={"now": NOW}), kind="vihf")
    assert [f.rule for f in untrusted.findings] == ["BENCH-VIHF-CERT-UNTRUSTED"]
    assert "no trust store is configured" in untrusted.findings[0].message
    late = validate_bytes(token, "t.xml", ValidationContext(options={"now": NOW + dt.timedelta(days=1)}), kind="vihf")
    assert {f.rule for f in late.findings} == {"BENCH-VIHF-CERT-UNTRUSTED", "BENCH-VIHF-TIME-WINDOW"}
