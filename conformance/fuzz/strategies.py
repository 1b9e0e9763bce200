"""Hypothesis strategies of hostile inputs: mutations of seeds and grammar-ish random XML."""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Sequence

from hypothesis import strategies as st

from conformance.fuzz.seeds import SOAP_XML, Seed

TOKENS = (
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"\x00",
    b"\xff",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"]]>",
    b"<![CDATA[",
    b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>",
    b"&e;",
    b"<!--",
    b"-->",
    b"\r\n\r\n",
    b"--",
    b"Content-Type: text/xml\r\n",
    b"Content-ID: <x@y>\r\n",
    b'<xop:Include href="cid:missing"/>',
    b'xmlns="urn:x"',
    b"</soap:Body>",
    b"<saml2:Assertion>",
    b"99999999999999999999",
    b"9" * 5000,
    b"\xc3\x28",
    b"<a>" * 64,
)
CONTENT_TYPES = (
    None,
    "",
    SOAP_XML,
    "text/xml",
    "multipart/related",
    'multipart/related; boundary=""',
    'multipart/related; boundary="x"; type="application/xop+xml"',
    "application/octet-stream",
    "multipart/related; boundary=" + "b" * 300,
    "application/soap+xml; charset=ISO-8859-1",
)
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')
_TAGS = (
    "soap:Envelope",
    "soap:Header",
    "soap:Body",
    "wsa:Action",
    "wsse:Security",
    "saml2:Assertion",
    "saml2:Attribute",
    "ds:Signature",
    "rim:RegistryObjectList",
    "rim:ExtrinsicObject",
    "rim:Slot",
    "xop:Include",
    "lcm:SubmitObjectsRequest",
    "ClinicalDocument",
    "id",
    "x",
)
_NS = (
    'xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing" '
    'xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" '
    'xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" '
    'xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0" '
    'xmlns:xop="http://www.w3.org/2004/08/xop/include" '
    'xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns="urn:hl7-org:v3"'
)


def mutate(rng: random.Random, seed: Seed) -> tuple[bytes, str | None]:
    """One to four mutations of ``seed`` (``random`` seeded by hypothesis: see :func:`batches`)."""
    data, content_type = bytearray(seed.data), seed.content_type
    for _ in range(rng.randint(1, 4)):
        size = len(data)
        at = rng.randint(0, size)
        op = rng.randint(0, 6)
        if op == 0 and size:  # bit flip
            data[min(at, size - 1)] ^= 1 << rng.randint(0, 7)
        elif op == 1:  # truncation
            del data[at:]
        elif op == 2 and size:  # a slice duplicated elsewhere
            chunk = data[at : at + rng.randint(1, 4096)]
            where = rng.randint(0, size)
            data[where:where] = chunk
        elif op == 3:  # a slice deleted
            del data[at : at + rng.randint(1, 512)]
        elif op == 4:  # a hostile token inserted
            data[at:at] = rng.choice(TOKENS)
        elif op == 5 and content_type and (match := _BOUNDARY.search(content_type)):  # boundary corruption
            boundary = match.group(1).encode()
            replacement = rng.choice([boundary[:-1], boundary + b"x", b"", boundary.upper()])
            data = bytearray(bytes(data).replace(b"--" + boundary, b"--" + replacement, rng.randint(1, 3)))
        else:  # the content type lies or is missing
            content_type = rng.choice(CONTENT_TYPES)
    return bytes(data), content_type


_leaf_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20).map(
    lambda t: t.replace("&", "&amp;").replace("<", "&lt;")
)
_attrs = st.dictionaries(
    st.sampled_from(
        [
            "ID",
            "id",
            "root",
            "extension",
            "value",
            "mustUnderstand",
            "href",
            "Name",
            "classScheme",
            "xsi:type",
        ]
    ),
    _leaf_text,
    max_size=3,
)


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    def render(tag: str, attributes: dict[str, str], content: list[str]) -> str:
        attrs = "".join(f' {k}="{v}"' for k, v in attributes.items() if k != "xsi:type")
        return f"<{tag}{attrs}>{''.join(content)}</{tag}>"

    return st.builds(render, st.sampled_from(_TAGS), _attrs, st.lists(children, max_size=4))


def _root(body: str) -> str:
    # namespace declarations on the outermost element so every prefixed tag is bound
    return body.replace(">", f" {_NS}>", 1) if body.startswith("<") else body


grammar = (
    st.recursive(_leaf_text, _element, max_leaves=30).map(_root).map(lambda xml: (xml.encode(), SOAP_XML))
)


def batches(seeds: Sequence[Seed], size: int) -> st.SearchStrategy[list[tuple[bytes, str | None]]]:
    """Batches of inputs: ``size`` seed mutations (from a hypothesis-drawn RNG seed: drawing each one through
    hypothesis costs milliseconds), one grammar-generated XML and one run of raw random bytes."""

    drawn = itertools.count()

    def build(
        rng_seed: int, xml: tuple[bytes, str | None], raw: bytes, raw_type: str | None
    ) -> list[tuple[bytes, str | None]]:
        rng = random.Random(rng_seed * 1_000_003 + next(drawn))  # hypothesis repeats small seeds
        return [*(mutate(rng, rng.choice(seeds)) for _ in range(size)), xml, (raw, raw_type)]

    return st.builds(
        build, st.integers(0, 2**64), grammar, st.binary(max_size=512), st.sampled_from(CONTENT_TYPES)
    )
