"""Certificate checks shared by the XML-DSig verifiers (VIHF, XAdES): reading, trust, validity, key usage."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

__all__ = [
    "DIGEST_ALGORITHMS",
    "EXC_C14N",
    "LEGACY_SHA1",
    "certificate_from_text",
    "dn_equal",
    "is_signature_certificate",
    "lenient_validity",
    "readable_certificates",
    "trust_problem",
    "validity_problem",
]

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
# XML-DSig digest URIs → hashlib names
DIGEST_ALGORITHMS = {
    "http://www.w3.org/2000/09/xmldsig#sha1": "sha1",
    "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
}
LEGACY_SHA1 = {"http://www.w3.org/2000/09/xmldsig#rsa-sha1", "http://www.w3.org/2000/09/xmldsig#sha1"}


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def certificate_from_text(text: str) -> x509.Certificate:
    """A certificate from ``ds:X509Certificate`` text (base64, any whitespace). Raises ValueError."""
    try:
        der = base64.b64decode("".join(text.split()), validate=True)
    except ValueError as exc:  # binascii.Error, or non-ASCII text
        raise ValueError(f"X509Certificate is not valid base64: {exc}") from exc
    cert = x509.load_der_x509_certificate(der)
    try:  # cryptography parses fields lazily: read now what the checks use, so a bad field fails here
        _ = (cert.subject, cert.issuer, cert.not_valid_before_utc, cert.not_valid_after_utc, cert.extensions,
             cert.public_key())
    except UnsupportedAlgorithm as exc:
        raise ValueError(f"unsupported public key: {exc}") from exc
    return cert


def readable_certificates(texts: Sequence[str]) -> list[x509.Certificate]:
    """The certificates of ``X509Certificate`` texts, skipping unreadable ones (e.g. a chain sent after the signer)."""
    certificates = []
    for text in texts:
        try:
            certificates.append(certificate_from_text(text))
        except ValueError:
            continue
    return certificates


def _der_items(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """(tag, content start, content end) of the DER items between ``start`` and ``end``."""
    items = []
    while start < end:
        tag, length, start = data[start], data[start + 1], start + 2
        if length & 0x80:
            count = length & 0x7F
            length, start = int.from_bytes(data[start:start + count], "big"), start + count
        items.append((tag, start, start + length))
        start += length
    return items


def lenient_validity(text: str) -> tuple[dt.datetime, dt.datetime] | None:
    """notBefore/notAfter of a certificate strict parsers refuse (e.g. an unsorted SET in its subject)."""
    try:
        der = base64.b64decode("".join(text.split()))
        _, cert_start, cert_end = _der_items(der, 0, len(der))[0]
        _, tbs_start, tbs_end = _der_items(der, cert_start, cert_end)[0]
        fields = _der_items(der, tbs_start, tbs_end)
        fields = fields[1:] if fields[0][0] == 0xA0 else fields  # explicit version
        _, validity_start, validity_end = fields[3]
        times = []
        for tag, begin, finish in _der_items(der, validity_start, validity_end)[:2]:
            layout = "%y%m%d%H%M%SZ" if tag == 0x17 else "%Y%m%d%H%M%SZ"  # UTCTime or GeneralizedTime
            times.append(dt.datetime.strptime(der[begin:finish].decode("ascii"), layout).replace(tzinfo=dt.UTC))
        return times[0], times[1]
    except (ValueError, IndexError):  # binascii.Error is a ValueError
        return None


def _issuer_of(cert: x509.Certificate, candidates: Sequence[x509.Certificate]) -> x509.Certificate | None:
    for candidate in candidates:
        if candidate.subject != cert.issuer:
            continue
        try:
            cert.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return candidate
    return None


def trust_problem(cert: x509.Certificate, trust: Sequence[x509.Certificate],
                  intermediates: Sequence[x509.Certificate] = (), *, max_depth: int = 5) -> str | None:
    """None when ``cert`` chains to a trust anchor (itself, or through ``intermediates`` and CA anchors).

    Anchors may be roots or intermediates; ``intermediates`` are the other certificates the signer sent.
    """
    if not trust:
        return (f"no trust store is configured, so the signer certificate (issuer {cert.issuer.rfc4514_string()}) "
                "cannot be trusted: configure the CA certificates to accept")
    current = cert
    for _ in range(max_depth):
        if current in trust or _issuer_of(current, trust) is not None:
            return None
        parent = _issuer_of(current, intermediates)
        if parent is None or parent == current or not _is_ca(parent):
            break
        current = parent
    return (f"the signer certificate (issuer {cert.issuer.rfc4514_string()}) does not chain to any of the "
            f"{len(trust)} trusted CA certificate(s)")


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def validity_problem(cert: x509.Certificate, when: dt.datetime, what: str) -> str | None:
    """None when ``cert`` is valid at ``when`` (``what`` names that moment in the message)."""
    if when < cert.not_valid_before_utc:
        return (f"the signer certificate is not yet valid at {what} ({_iso(when)}; valid from "
                f"{_iso(cert.not_valid_before_utc)})")
    if when > cert.not_valid_after_utc:
        return f"the signer certificate expired on {_iso(cert.not_valid_after_utc)}, before {what} ({_iso(when)})"
    return None


def is_signature_certificate(cert: x509.Certificate) -> bool:
    """False for an authentication-only certificate (keyUsage without digitalSignature nor nonRepudiation)."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return usage.digital_signature or usage.content_commitment


# --- distinguished names ----------------------------------------------------------------------------------

def _split_unescaped(text: str, separators: str) -> list[str]:
    parts, current, escaped = [], "", False
    for char in text:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            current += char
            escaped = True
        elif char in separators:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


_DN_ALIASES = {"2.5.4.3": "cn", "2.5.4.4": "sn", "2.5.4.42": "givenname", "2.5.4.10": "o", "2.5.4.11": "ou",
               "2.5.4.6": "c", "2.5.4.8": "st", "2.5.4.7": "l", "s": "st", "e": "emailaddress",
               "1.2.840.113549.1.9.1": "emailaddress", "2.5.4.12": "title", "2.5.4.5": "serialnumber"}


def _hex_value(value: str) -> str:
    """The text of an RFC 4514 ``#<hex BER>`` value (a DER string: tag, short length, bytes)."""
    try:
        raw = bytes.fromhex(value[1:])
    except ValueError:
        return value
    if len(raw) < 2 or raw[1] & 0x80:
        return value
    text = raw[2:2 + raw[1]]
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        return text.decode("latin-1")


def _dn_key(dn: str) -> list[frozenset[tuple[str, str]]]:
    """RDNs of an RFC 4514 (or OpenSSL ``/C=FR/O=…``) DN, normalised for comparison, most specific first."""
    dn = dn.strip()
    openssl = dn.startswith("/")
    rdns = [r for r in (dn[1:].split("/") if openssl else _split_unescaped(dn, ",;")) if r.strip()]
    result = []
    for rdn in rdns:
        pairs = set()
        for ava in _split_unescaped(rdn, "+"):
            name, _, value = ava.partition("=")
            name = name.strip().lower()
            value = _hex_value(value.strip()) if value.strip().startswith("#") else value.replace("\\", "")
            pairs.add((_DN_ALIASES.get(name, name), " ".join(value.split()).lower()))
        result.append(frozenset(pairs))
    return list(reversed(result)) if openssl else result


def dn_equal(left: str, right: str) -> bool:
    """Whether two DNs name the same subject (attribute names, case, spacing and RDN order normalised)."""
    a, b = _dn_key(left), _dn_key(right)
    return a == b or a == list(reversed(b))
