"""The VIHF: model, builder/parser, XML-DSig signature, verification and the ``vihf`` rules.

Typical use (server side)::

    result = verify_vihf(envelope_bytes, VihfPolicy(trust=[ca_cert]))
    if not result.authenticated: ...  # result.findings say why
    result.vihf.subject_id, result.vihf.resource_id  # read from the signed data only

and (client side) ``sign_vihf(new_vihf(...), pki.structure)``.
"""

from conformance.vihf.codec import (
    VihfError,
    build_vihf,
    find_assertions,
    format_instant,
    load_xml,
    parse_instant,
    parse_vihf,
    vihf_to_bytes,
)
from conformance.vihf.context import VihfCheck, VihfPolicy, value_sets
from conformance.vihf.factory import new_vihf
from conformance.vihf.model import (
    PURPOSE_NORMAL,
    ROLE_GENERAL_PRACTICE,
    ROLE_MEDECIN,
    AttributeName,
    AuthMode,
    CodedValue,
    Vihf,
)
from conformance.vihf.signature import SignatureReport, check_signature, dn_equal, sign_element, sign_vihf
from conformance.vihf.verify import ReplayCache, VihfVerification, validate_vihf, verify_vihf

__all__ = [
    "PURPOSE_NORMAL", "ROLE_GENERAL_PRACTICE", "ROLE_MEDECIN",
    "AttributeName", "AuthMode", "CodedValue", "ReplayCache", "SignatureReport", "Vihf", "VihfCheck", "VihfError",
    "VihfPolicy", "VihfVerification",
    "build_vihf", "check_signature", "dn_equal", "find_assertions", "format_instant", "load_xml", "new_vihf",
    "parse_instant", "parse_vihf", "sign_element", "sign_vihf", "validate_vihf", "value_sets", "verify_vihf",
    "vihf_to_bytes",
]
