"""The official VIHF tokens and example requests: they parse, and each defect is named by the right rules."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from conformance.vihf import AuthMode, VihfPolicy, parse_vihf, verify_vihf

pytestmark = pytest.mark.official

# A fixed "now" after every official certificate expired (2020–2022) so the verdicts never drift
LATER = VihfPolicy(now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))

EXPECTED = {
    # one stray Latin-1 byte; unsigned; NameID is not the Issuer's CN; issued in 2019
    "VIHF_DIRECTE_non_signe.xml": {"XML-UTF8", "BENCH-VIHF-SIG-ABSENT", "BENCH-VIHF-DIRECT-SIGNER",
                                   "BENCH-VIHF-TIME-WINDOW"},
    # same defects, plus a signer certificate strict DER parsers refuse (expired 2020-03-31, read leniently),
    # a digest that does not match, SHA-1
    "VIHF_DIRECTE_signe.xml": {"XML-UTF8", "BENCH-VIHF-DIRECT-SIGNER", "BENCH-VIHF-TIME-WINDOW",
                               "BENCH-VIHF-CERT-UNREADABLE", "BENCH-VIHF-CERT-VALIDITY", "BENCH-VIHF-SIG-DIGEST",
                               "BENCH-VIHF-SIG-SHA1"},
    # double-encoded role names; CA not trusted; certificate expired 2020-02-29; digest mismatch; SHA-1
    "VIHF_INDIRECTE_signe.xml": {"BENCH-VIHF-MOJIBAKE", "BENCH-VIHF-TIME-WINDOW", "BENCH-VIHF-CERT-UNTRUSTED",
                                 "BENCH-VIHF-CERT-VALIDITY", "BENCH-VIHF-SIG-DIGEST", "BENCH-VIHF-SIG-SHA1"},
}


@pytest.fixture(scope="module")
def tokens_dir(dmp_lps_package: Path) -> Path:
    return dmp_lps_package / "examples" / "Exemples_Jeton_VIHF"


@pytest.mark.requirement("BENCH-VIHF-SIGNATURE", "BENCH-VIHF-MOJIBAKE", "BENCH-VIHF-CERT-UNREADABLE")
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_official_token_defects_are_exactly_named(tokens_dir: Path, name: str) -> None:
    result = verify_vihf((tokens_dir / name).read_bytes(), LATER)
    assert result.vihf is not None
    assert result.rule_ids == EXPECTED[name], [(f.rule, f.message) for f in result.findings]
    assert not result.authenticated
    assert all(f.location for f in result.findings if f.rule.startswith("BENCH-"))


def test_official_signed_indirect_token_details(tokens_dir: Path) -> None:
    result = verify_vihf((tokens_dir / "VIHF_INDIRECTE_signe.xml").read_bytes(), LATER)
    assert result.signature is not None
    # SignedInfo itself verifies: the assertion was changed after signing
    assert result.signature.value_ok is True and result.signature.digest_ok is False
    vihf = result.vihf
    assert vihf is not None and vihf.mode is AuthMode.INDIRECTE
    assert vihf.structure_id == "339172288100052" and vihf.subject_name == "MAX LIBRE"
    assert [r.code for r in vihf.roles] == ["10", "SM26"]
    messages = {f.rule: f.message for f in reversed(result.findings)}  # first finding per rule
    assert "2020-02-29" in messages["BENCH-VIHF-CERT-VALIDITY"]
    assert "'Médecin'" in messages["BENCH-VIHF-MOJIBAKE"]


def test_official_direct_token_is_repaired_and_read(tokens_dir: Path) -> None:
    result = verify_vihf((tokens_dir / "VIHF_DIRECTE_non_signe.xml").read_bytes(), LATER)
    assert result.vihf is not None and result.vihf.purpose_of_use is not None
    assert result.vihf.purpose_of_use.display_name == "Accès normal"
    utf8 = next(f for f in result.findings if f.rule == "XML-UTF8")
    assert "0xe8" in utf8.message


def _envelope(raw: bytes) -> bytes:
    """The SOAP envelope of an example request (the TD2.1 one is a raw MIME capture)."""
    match = re.search(rb"<(\w+:)?Envelope\b.*?</(\w+:)?Envelope>", raw, re.S)
    assert match, "no SOAP envelope"
    return match.group(0)


# TD0.5 carries another unsigned DIRECTE token (2019-04-04) whose Issuer CN is the NameID; all others share one
OTHER_TOKEN = {"TD0.5_Recherche_dun_patient_sans_INS_requete.xml": "_ba7fee43-cdaa-4059-a9b9-d6487cb7764d"}
SHARED_TOKEN = "_ce088e5a-e31d-42d0-ba37-fda5fcbc889d"


def test_every_example_request_carries_an_unsigned_direct_token(dmp_lps_package: Path) -> None:
    requests = sorted((dmp_lps_package / "examples").glob("TD*_requete.xml"))
    assert len(requests) >= 10
    for path in requests:
        envelope = _envelope(path.read_bytes())
        vihf = parse_vihf(envelope)
        assert vihf.assertion_id == OTHER_TOKEN.get(path.name, SHARED_TOKEN), path.name
        assert vihf.issue_instant is not None
        # replayed as captured: lenient (unsigned accepted) and judged at the time it was issued
        lenient = VihfPolicy(now=vihf.issue_instant + dt.timedelta(minutes=1), lenient=True)
        result = verify_vihf(envelope, lenient)
        assert result.valid, (path.name, [(f.rule, f.message) for f in result.findings])
        expected = {"BENCH-VIHF-SIG-ABSENT"} | (set() if path.name in OTHER_TOKEN else {"BENCH-VIHF-DIRECT-SIGNER"})
        assert result.rule_ids == expected, path.name
