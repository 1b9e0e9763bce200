"""Who calls the FHIR API: a bearer token carrying the professional's identity → :class:`Caller`.

Neither PDSm nor PDSM4DMP specify authentication (fhir-pdsm.md §3.3), so the reference DMP makes it pluggable:

* **signed token** (always accepted): ``v1.<claims>.<mac>`` where ``claims`` is the base64url (no padding) of a
  JSON object and ``mac`` the base64url HMAC-SHA256 of ``v1.<claims>`` under a key drawn at server start.
  ``POST /fhir/_token`` issues one, only when the admin/test API is on (``ServerSettings.admin_enabled``).
* **unsigned token** (only when ``ServerSettings.lenient_signatures``): ``unsigned.<claims>``.

* **mutual TLS** (when no bearer token is sent): the client certificate the ASGI server puts in the TLS
  extension (``scope["extensions"]["tls"]["client_cert_chain"][0]``, PEM; the server verified the chain): a
  professional's certificate (CN = idNat) authenticates in direct mode, a structure's (CN ``ORG …``, OU =
  structure idNat) in indirect mode. uvicorn does not fill this extension: behind it, use tokens.

Claims: ``sub`` (the professional's idNat, required), ``structure`` (structure idNat), ``role``,
``auth_mode`` (``DIRECTE``/``INDIRECTE``/``INDIRECTE_RENFORCEE``), ``access_mode`` (``normal``,
``break_glass``, ``regulation``), ``kind`` (``professional``, ``patient``, ``legal_representative``),
``exp`` (Unix time). A missing, malformed, forged or expired token → 401.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from conformance.server.access import ActorKind, AuthMode, Caller
from conformance.store import AccessMode

SIGNED_PREFIX = "v1"
UNSIGNED_PREFIX = "unsigned"
DEFAULT_LIFETIME = 3600
MAX_TOKEN_CHARS = 4096


class TokenError(ValueError):
    """The token cannot authenticate the call; the message says why (answered as 401)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TokenError("the token is not base64url") from exc


def _mac(key: bytes, signed_part: str) -> str:
    return _b64(hmac.new(key, signed_part.encode("ascii"), hashlib.sha256).digest())


def issue_token(key: bytes, claims: dict[str, Any], lifetime: int = DEFAULT_LIFETIME) -> str:
    """A signed token for ``claims`` (``exp`` added when absent); checked by :func:`caller_of_token`."""
    body = {**claims, "exp": int(claims.get("exp") or time.time() + lifetime)}
    caller_of_claims({**body, "exp": None})  # refuse to issue what could never authenticate
    signed_part = f"{SIGNED_PREFIX}.{_b64(json.dumps(body, separators=(',', ':')).encode())}"
    return f"{signed_part}.{_mac(key, signed_part)}"


def unsigned_token(claims: dict[str, Any]) -> str:
    """The lenient-mode form (no MAC): for test clients of a server started with lenient signatures."""
    return f"{UNSIGNED_PREFIX}.{_b64(json.dumps(claims).encode())}"


def _claims(encoded: str) -> dict[str, Any]:
    try:
        claims = json.loads(_unb64(encoded))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError("the token claims are not JSON") from exc
    if not isinstance(claims, dict):
        raise TokenError("the token claims are not a JSON object")
    return claims


def _enum(kind: type[Any], value: Any, default: Any, name: str) -> Any:
    if value is None:
        return default
    try:
        return kind(value)
    except ValueError:
        raise TokenError(f"claim {name}={value!r} is not one of {[m.value for m in kind]}") from None


def caller_of_claims(claims: dict[str, Any]) -> Caller:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip() or len(sub) > 64:
        raise TokenError("claim sub (the professional's idNat) is missing or invalid")
    exp = claims.get("exp")
    if exp is not None and (not isinstance(exp, int | float) or exp < time.time()):
        raise TokenError("the token has expired")
    structure = claims.get("structure")
    role = claims.get("role")
    return Caller(actor_id=sub.strip(), structure_id=structure if isinstance(structure, str) else None,
                  auth_mode=_enum(AuthMode, claims.get("auth_mode"), AuthMode.DIRECT, "auth_mode"),
                  access_mode=_enum(AccessMode, claims.get("access_mode"), AccessMode.NORMAL, "access_mode"),
                  kind=_enum(ActorKind, claims.get("kind"), ActorKind.PROFESSIONAL, "kind"),
                  role_code=role if isinstance(role, str) else None)


def caller_of_token(authorization: str | None, key: bytes, *, lenient: bool) -> Caller:
    """The caller named by an ``Authorization: Bearer …`` header value; raises :class:`TokenError`."""
    if not authorization:
        raise TokenError("no Authorization header: send 'Bearer <token>'")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("the Authorization header is not 'Bearer <token>'")
    token = token.strip()
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenError("the token is too long")
    parts = token.split(".")
    if parts[0] == SIGNED_PREFIX and len(parts) == 3:
        if not hmac.compare_digest(_mac(key, f"{parts[0]}.{parts[1]}"), parts[2]):
            raise TokenError("the token signature is not valid for this server")
        return caller_of_claims(_claims(parts[1]))
    if parts[0] == UNSIGNED_PREFIX and len(parts) == 2:
        if not lenient:
            raise TokenError("unsigned tokens are accepted only by a server started with lenient signatures")
        return caller_of_claims(_claims(parts[1]))
    raise TokenError("unknown token format (expected v1.<claims>.<mac> or unsigned.<claims>)")


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else None


def caller_of_certificate(pem: str | bytes) -> Caller:
    """The caller named by a verified TLS client certificate (see the module docstring)."""
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)
    except ValueError as exc:
        raise TokenError("the TLS client certificate is not readable") from exc
    common_name = _attribute(certificate.subject, NameOID.COMMON_NAME) or ""
    unit = _attribute(certificate.subject, NameOID.ORGANIZATIONAL_UNIT_NAME)
    if common_name.startswith("ORG ") and unit:
        return Caller(actor_id=unit, structure_id=unit, auth_mode=AuthMode.INDIRECT)
    if not common_name.strip():
        raise TokenError("the TLS client certificate names nobody (no CN)")
    return Caller(actor_id=common_name.strip(), structure_id=unit)


def client_certificate(scope: dict[str, Any]) -> str | None:
    """The leaf client certificate (PEM) of the ASGI TLS extension, if the server gives it."""
    tls = (scope.get("extensions") or {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    return chain[0] if chain and isinstance(chain[0], str | bytes) else None  # type: ignore[no-any-return]
