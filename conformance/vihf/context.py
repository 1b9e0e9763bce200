"""What the VIHF rules read: the policy (trust, clock, strictness), the value sets, and one check context."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import yaml
from cryptography import x509
from lxml import etree

from conformance.resources import profiles_path
from conformance.vihf.model import Vihf
from conformance.vihf.signature import SignatureReport

VALUE_SETS_FILE = profiles_path("vihf", "value-sets.yaml")


@cache
def value_sets() -> Mapping[str, Any]:
    """``profiles/vihf/value-sets.yaml``: the value sets the rules check (data, not code)."""
    return yaml.safe_load(VALUE_SETS_FILE.read_text(encoding="utf-8"))


@dataclass(slots=True)
class VihfPolicy:
    """How strictly a VIHF is judged. The DMP publishes no validity window: the defaults are the bench's choice."""

    trust: Sequence[x509.Certificate] = ()  # CA certificates (or pinned signer certificates) accepted
    now: dt.datetime | None = None  # explicit clock for tests; None = the current time
    clock_skew: dt.timedelta = dt.timedelta(minutes=5)
    max_age: dt.timedelta = dt.timedelta(hours=1)  # window after IssueInstant when Conditions give no NotOnOrAfter
    require_signature: bool = True  # unsigned → error (warning when False or lenient, as in the official requests)
    lenient: bool = False  # replaying legacy captures: unsigned and SHA-1 tokens are warnings
    allow_sha1: bool = True  # legacy RSA-SHA1/SHA-1 (2019 tokens): warning when allowed, error otherwise
    purpose_codes: Mapping[str, str] | None = None  # purposeOfUse codes accepted (default: value set "codes")

    def current_time(self) -> dt.datetime:
        return self.now or dt.datetime.now(dt.UTC)

    def known_purpose_codes(self) -> Mapping[str, str]:
        if self.purpose_codes is not None:
            return self.purpose_codes
        return value_sets()["purpose_of_use"]["codes"]


@dataclass(slots=True)
class VihfCheck:
    """One VIHF under judgement: the model read from the (signed) element, the raw element, the signature facts."""

    vihf: Vihf
    element: etree._Element  # the assertion as found in the message (for locations)
    signature: SignatureReport
    policy: VihfPolicy = field(default_factory=VihfPolicy)
    assertion_count: int = 1  # assertions in wsse:Security (1 when the input is a bare assertion)
    duplicate_id_elements: list[etree._Element] = field(default_factory=list)  # other elements with the same ID
    tls_client_certificate: x509.Certificate | None = None  # the mutual-TLS client of the request, when known
    replayed: bool = False  # this authenticated assertion ID was already accepted within its window
