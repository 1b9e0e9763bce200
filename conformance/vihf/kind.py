"""The ``vihf`` artefact kind: a bare VIHF token file (``saml2:Assertion`` root), as in ``Exemples_Jeton_VIHF``.

VIHF inside SOAP requests are judged by the ``soap`` kind, which calls :func:`~conformance.vihf.verify_vihf`.
Options read from the context: ``vihf_policy`` (a :class:`VihfPolicy`) or ``now`` (a datetime) with ``lenient``.
"""

from __future__ import annotations

import datetime as dt
import re

from conformance.findings import ArtefactResult
from conformance.validation import ArtefactKind, ValidationContext, register_kind
from conformance.vihf.context import VihfPolicy
from conformance.vihf.verify import verify_vihf

# The root start tag of a SAML 2.0 assertion, whatever its prefix, near the start of the file
_ASSERTION_ROOT = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?<(?:\w+:)?Assertion\b[^>]*urn:oasis:names:tc:SAML:2\.0:assertion")


def detect(data: bytes) -> bool:
    return bool(_ASSERTION_ROOT.match(data[:4096].lstrip(b"\xef\xbb\xbf")))


def validate(data: bytes, path: str, context: ValidationContext) -> ArtefactResult:
    policy = context.options.get("vihf_policy")
    if not isinstance(policy, VihfPolicy):
        now = context.options.get("now")
        policy = VihfPolicy(lenient=context.lenient, now=now if isinstance(now, dt.datetime) else None)
    verification = verify_vihf(data, policy)
    details = {"assertion_id": verification.vihf.assertion_id} if verification.vihf else {}
    return ArtefactResult(path=path, kind="vihf", findings=verification.findings, details=details)


register_kind(ArtefactKind("vihf", detect, validate, priority=20))
