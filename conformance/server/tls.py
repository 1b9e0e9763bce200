"""uvicorn's h11 protocol hardened for the reference DMP: a request-head timeout, and the ASGI TLS extension.

uvicorn bounds neither the time a client takes to send a request head nor the silence of a fresh connection
(slow-loris): :class:`HardenedH11Protocol` closes a connection whose request head is not complete within
``header_timeout`` seconds of its opening or of the previous response, answering 408 if part of a head came.

The reference DMP needs the mutual-TLS client certificate: the VIHF rule comparing the TLS client's structure
with ``Identifiant_Structure``, and the FHIR API's certificate login, read it from
``scope["extensions"]["tls"]`` (https://asgi.readthedocs.io/en/latest/extensions.html#tls). uvicorn's h11
protocol builds the scope without it, so :class:`TlsH11Protocol` wraps the application of each TLS connection
to add it. :func:`h11_protocol` gives ``uvicorn.run(..., http=…)`` the protocol for the server settings.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Callable
from typing import Any

import h11
from cryptography import x509
from uvicorn.protocols.http.h11_impl import H11Protocol

from conformance.server.fhir.auth import client_certificate as client_certificate_pem
from conformance.server.settings import ServerSettings

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


_TIMEOUT_BODY = b"request head not received in time"
# written by hand: h11 refuses to send a response before it has parsed a request
REQUEST_TIMEOUT = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
                   b"content-length: %d\r\n\r\n%s" % (len(_TIMEOUT_BODY), _TIMEOUT_BODY))


class HardenedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head (see the module docstring)."""

    def __init__(self, *args: Any, header_timeout: float = ServerSettings().header_timeout_seconds,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self.header_timer: asyncio.TimerHandle | None = None
        self.head_started = False  # bytes of the awaited request head were received

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def data_received(self, data: bytes) -> None:
        self.head_started = self.head_started or (self.header_timer is not None and bool(data))
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # h11 yielded the Request: the head is complete
            self._cancel_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # kept alive and no pipelined request already parsed: the next head has its own deadline
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        self._cancel_header_timer()
        self.head_started = False
        self.header_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _cancel_header_timer(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _head_timed_out(self) -> None:
        self.header_timer = None
        if self.transport.is_closing():
            return
        if self.head_started:
            self.logger.warning("request head not received within %s s: 408", self.header_timeout)
            self.transport.write(REQUEST_TIMEOUT)
        self.transport.close()


class TlsH11Protocol(HardenedH11Protocol):
    """The hardened protocol giving the application the ASGI TLS extension on TLS connections."""

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


def h11_protocol(settings: ServerSettings, *, tls: bool = False) -> Callable[..., H11Protocol]:
    """The protocol factory for ``uvicorn.Config(http=…)``: hardened with the settings' head timeout, and with the
    TLS extension when serving TLS (uvicorn instantiates it with ``config``, ``server_state``, ``app_state``)."""
    protocol = TlsH11Protocol if tls else HardenedH11Protocol
    return functools.partial(protocol, header_timeout=settings.header_timeout_seconds)


def client_certificate(scope: dict[str, Any]) -> x509.Certificate | None:
    """The verified mutual-TLS client certificate of the request, if the ASGI server gives it."""
    pem = client_certificate_pem(scope)
    if pem is None:
        return None
    try:
        return x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)
    except ValueError:
        return None
