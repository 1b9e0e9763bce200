"""The ASGI TLS extension under uvicorn, which does not provide it.

The reference DMP needs the mutual-TLS client certificate: the VIHF rule comparing the TLS client's structure
with ``Identifiant_Structure``, and the FHIR API's certificate login, read it from
``scope["extensions"]["tls"]`` (https://asgi.readthedocs.io/en/latest/extensions.html#tls). uvicorn's h11
protocol builds the scope without it, so :class:`TlsH11Protocol` wraps the application of each TLS connection
to add it; ``uvicorn.run(..., http=TlsH11Protocol)``.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from cryptography import x509
from uvicorn.protocols.http.h11_impl import H11Protocol

from conformance.server.fhir.auth import client_certificate as client_certificate_pem

# ASGI wants the TLS version as its protocol number; Python names it
TLS_VERSIONS = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def _cipher_suite(ssl_object: ssl.SSLObject) -> int | None:
    """The 16-bit IANA number of the negotiated suite (OpenSSL ids carry it in their low 16 bits)."""
    negotiated = ssl_object.cipher()
    if negotiated is None or ssl_object.context is None:
        return None
    ids = {cipher["name"]: cipher["id"] & 0xFFFF for cipher in ssl_object.context.get_ciphers()}
    return ids.get(negotiated[0])


def tls_extension(ssl_object: ssl.SSLObject) -> dict[str, Any]:
    """``scope["extensions"]["tls"]`` of a connection whose handshake is done."""
    der = ssl_object.getpeercert(binary_form=True)
    chain, name = [], None
    if der:
        chain = [ssl.DER_cert_to_PEM_cert(der)]
        name = x509.load_der_x509_certificate(der).subject.rfc4514_string()
    version = ssl_object.version()
    # the peer certificate is only there once the server verified it (client_cert_error stays None)
    return {"server_cert": None, "client_cert_chain": chain, "client_cert_name": name, "client_cert_error": None,
            "tls_version": TLS_VERSIONS.get(version) if version else None,
            "cipher_suite": _cipher_suite(ssl_object)}


class TlsH11Protocol(H11Protocol):
    """uvicorn's h11 protocol giving the application the ASGI TLS extension on TLS connections."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return
        # asyncio calls connection_made after the handshake: the peer certificate is known for the connection
        extension, app = tls_extension(ssl_object), self.app

        async def with_tls(scope: Any, receive: Any, send: Any) -> None:
            scope.setdefault("extensions", {})["tls"] = {**extension,
                                                         "client_cert_chain": list(extension["client_cert_chain"])}
            await app(scope, receive, send)

        self.app = with_tls


def client_certificate(scope: dict[str, Any]) -> x509.Certificate | None:
    """The verified mutual-TLS client certificate of the request, if the ASGI server gives it."""
    pem = client_certificate_pem(scope)
    if pem is None:
        return None
    try:
        return x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)
    except ValueError:
        return None
