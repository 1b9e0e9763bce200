"""Hostile input against the real server over HTTP and against ``validate_bytes``: every attack is a clear
SOAP fault (400, 408 or 413) in bounded time, never a 500 or a hang, never a leak, and nothing is stored."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conformance.pki import TestPki
from conformance.server.settings import ServerSettings
from conformance.soap import parse_message
from conformance.validation import ValidationContext, validate_bytes
from conformance.xds import Code, parse_body
from tests.reliability.registry_checks import registry_counts
from tests.security.conftest import BODY_TIMEOUT, MAX_BODY, signed_feed
from tests.server.conftest import RunningServer, seeded_store, serving

SERVICE = "/si-dmp-server/v2/services/repository"
SECRET = "dmp-conformance-secret-4f2a"  # content of a local file an XXE would try to leak
TIME_BOUND = 10.0  # generous: each refusal takes milliseconds


class Listener:
    """A loopback TCP port that records every connection: proof that no parser fetched anything."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    spy = Listener()
    yield spy
    spy.close()


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("xxe") / "secret.txt"
    path.write_text(SECRET)
    return path


def _envelope(inner: str, prolog: str = "") -> bytes:
    return (
        f"<?xml version='1.0' encoding='UTF-8'?>{prolog}"
        "<soap:Envelope xmlns:soap='http://www.w3.org/2003/05/soap-envelope' "
        "xmlns:wsa='http://www.w3.org/2005/08/addressing'><soap:Header>"
        "<wsa:Action>urn:ihe:iti:2007:RegistryStoredQuery</wsa:Action></soap:Header>"
        f"<soap:Body>{inner}</soap:Body></soap:Envelope>"
    ).encode()


def _payloads(secret: Path, port: int) -> dict[str, tuple[bytes, str | None]]:
    """Name → (body, content type) of every hostile request."""
    soap = "application/soap+xml; charset=UTF-8"
    laughs = "".join(f"<!ENTITY l{i} '{('&l' + str(i - 1) + ';') * 10}'>" for i in range(1, 10))
    return {
        "xxe-file": (
            _envelope("<x>&xxe;</x>", f"<!DOCTYPE e [<!ENTITY xxe SYSTEM '{secret.as_uri()}'>]>"),
            soap,
        ),
        "xxe-parameter-entity": (
            _envelope("<x/>", f"<!DOCTYPE e [<!ENTITY % p SYSTEM 'http://127.0.0.1:{port}/evil.dtd'> %p;]>"),
            soap,
        ),
        "external-dtd": (_envelope("<x/>", f"<!DOCTYPE e SYSTEM 'http://127.0.0.1:{port}/evil.dtd'>"), soap),
        "xinclude": (
            _envelope(
                f"<x xmlns:xi='http://www.w3.org/2001/XInclude'><xi:include href='{secret.as_uri()}' "
                "parse='text'/></x>"
            ),
            soap,
        ),
        "billion-laughs": (_envelope("<x>&l9;</x>", f"<!DOCTYPE e [<!ENTITY l0 'ha'>{laughs}]>"), soap),
        "deep-nesting": (_envelope("<a>" * 20_000 + "</a>" * 20_000), soap),
        "huge-attribute": (_envelope(f"<x a='{'A' * (MAX_BODY // 2)}'/>"), soap),
        "many-attributes": (_envelope("<x " + " ".join(f"a{i}='1'" for i in range(20_000)) + "/>"), soap),
        "invalid-utf8": (
            _envelope("<x>BYTES</x>").replace(b"BYTES", b"caf\xe9 \xff"),  # Latin-1 and a stray byte
            soap,
        ),
        "utf16-bom-on-utf8": (b"\xff\xfe" + _envelope("<x/>"), soap),
        "double-bom": (b"\xef\xbb\xbf\xef\xbb\xbf" + _envelope("<x/>"), soap),
        "empty": (b"", soap),
        "missing-content-type": (_envelope("<x/>")[:200], None),
        "multipart-without-boundary": (
            b"--x\r\n\r\n<a/>\r\n--x--\r\n",
            'multipart/related; type="application/xop+xml"',
        ),
    }


def _assert_refused(response: httpx.Response, statuses: frozenset[int] = frozenset({400})) -> str:
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    message = parse_message(response.content, response.headers["content-type"])
    assert message.fault is not None and message.fault.subcodes, response.text[:300]
    assert SECRET not in response.text
    return str(message.fault.subcodes[0])


def _timed_post(url: str, data: bytes, content_type: str | None) -> tuple[httpx.Response, float]:
    headers = {"content-type": content_type} if content_type else {}
    started = time.monotonic()
    response = httpx.post(f"{url}{SERVICE}", content=data, headers=headers, timeout=30)
    return response, time.monotonic() - started


PAYLOADS = sorted(_payloads(Path("/x"), 1))


@pytest.mark.parametrize("name", PAYLOADS)
def test_hostile_request_is_a_sender_fault(
    name: str, hardened: RunningServer, secret_file: Path, listener: Listener
) -> None:
    data, content_type = _payloads(secret_file, listener.port)[name]
    before = registry_counts(hardened.store.engine)
    response, elapsed = _timed_post(hardened.url, data, content_type)
    _assert_refused(response)
    assert elapsed < TIME_BOUND
    assert listener.connections == 0, "a parser reached the network"
    assert registry_counts(hardened.store.engine) == before


@pytest.mark.parametrize("name", PAYLOADS)
def test_hostile_artefact_is_a_finding_for_the_validators(
    name: str, secret_file: Path, listener: Listener
) -> None:
    data, content_type = _payloads(secret_file, listener.port)[name]
    started = time.monotonic()
    result = validate_bytes(data, f"{name}.xml", ValidationContext(options={"content_type": content_type}))
    assert time.monotonic() - started < TIME_BOUND
    assert not result.valid and result.findings
    assert all(SECRET not in f.message for f in result.findings)
    assert listener.connections == 0


def _mtom_variants(body: bytes, content_type: str) -> dict[str, tuple[bytes, str]]:
    boundary = (
        content_type.split('boundary="', 1)[1].split('"', 1)[0]
        if 'boundary="' in content_type
        else content_type.split("boundary=", 1)[1].split(";", 1)[0]
    )
    return {
        "truncated": (body[: len(body) // 2], content_type),
        "no-closing-boundary": (body.rsplit(f"--{boundary}--".encode(), 1)[0], content_type),
        "lying-boundary": (body, content_type.replace(boundary, boundary + "X")),
        "mtom-sent-as-plain-soap": (body, "application/soap+xml; charset=UTF-8"),
        "plain-content-type-missing": (body, ""),
        "boundary-corrupted-inside": (
            body.replace(f"--{boundary}\r\n".encode(), f"--{boundary[:-1]}\r\n".encode(), 2),
            content_type,
        ),
        "duplicated-root-part": (
            body.replace(
                f"--{boundary}--".encode(),
                body.split(f"--{boundary}".encode())[1].join(
                    [f"--{boundary}".encode(), f"--{boundary}--".encode()]
                ),
            ),
            content_type,
        ),
    }


def test_broken_mtom_of_a_signed_feed_stores_nothing(hardened: RunningServer) -> None:
    body, content_type, unique_id = signed_feed(hardened)
    outcomes: dict[str, int] = {}
    for name, (data, ctype) in _mtom_variants(body, content_type).items():
        before = registry_counts(hardened.store.engine)
        response, elapsed = _timed_post(hardened.url, data, ctype or None)
        assert elapsed < TIME_BOUND and response.status_code != 500, name
        outcomes[name] = response.status_code
        if response.status_code == 200:  # a tolerated variant (lenient MIME): then it must be complete
            assert name == "duplicated-root-part" or hardened.store.document(unique_id) is not None, name
        else:
            _assert_refused(response)
            assert registry_counts(hardened.store.engine) == before, name
    # the server runs with lenient MIME (legacy captures): a multipart body sent as plain SOAP may be read
    assert {n for n, s in outcomes.items() if s == 400} >= {"truncated", "lying-boundary"}


@pytest.mark.parametrize("chunked", [False, True])
def test_oversized_body_is_413_without_buffering(hardened: RunningServer, chunked: bool) -> None:
    body, content_type, _ = signed_feed(
        hardened, b"<ClinicalDocument>" + b"A" * MAX_BODY + b"</ClinicalDocument>"
    )
    before = registry_counts(hardened.store.engine)
    content: bytes | Iterator[bytes] = body
    if chunked:  # no Content-Length: the limit must hold while streaming
        content = iter([body[i : i + 65536] for i in range(0, len(body), 65536)])
    started = time.monotonic()
    response = httpx.post(
        f"{hardened.url}{SERVICE}", content=content, headers={"content-type": content_type}, timeout=30
    )
    assert time.monotonic() - started < TIME_BOUND
    assert _assert_refused(response, {413}) == "DMPMessageTooLarge"
    assert registry_counts(hardened.store.engine) == before


def test_oversized_mtom_part_is_refused_by_the_parser() -> None:
    from conformance.soap import MtomError, MtomLimits, build_envelope, serialize_message
    from conformance.soap.envelope import Attachment

    envelope = build_envelope(None, action="urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b")
    body, content_type = serialize_message(
        envelope,
        [Attachment("doc@x", "text/xml", b"B" * 10_000)],
        action="urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b",
    )
    with pytest.raises(MtomError) as refused:
        parse_message(body, content_type, limits=MtomLimits(max_part=1000))
    assert refused.value.to_finding().rule


def _trickle(
    url: str, pause: float, total: int, *, path: str = SERVICE, content_type: str = "application/soap+xml"
) -> tuple[bytes, float]:
    """Send the headers, then one body byte every ``pause`` seconds; return the raw answer and its delay."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
                f"Connection: close\r\nContent-Length: {total}\r\n\r\n"
            ).encode()
        )
        started = time.monotonic()
        sock.settimeout(pause)
        answer = b""
        for _ in range(total):
            try:
                sock.sendall(b"<")
                answer = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:  # the server closed the connection: read what it said
                pass
            break
        elapsed = time.monotonic() - started
        sock.settimeout(5)
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
        return answer, elapsed


def test_slow_client_trickling_its_body_times_out(hardened: RunningServer) -> None:
    before = registry_counts(hardened.store.engine)
    answer, elapsed = _trickle(hardened.url, 0.2, 200)
    status_line = answer.split(b"\r\n", 1)[0]
    assert b" 408 " in status_line, answer[:300]
    assert b"DMPRequestTimeout" in answer
    assert BODY_TIMEOUT <= elapsed < BODY_TIMEOUT + 5
    assert registry_counts(hardened.store.engine) == before
    assert httpx.get(f"{hardened.url}/health", timeout=5).status_code == 200  # the worker is free again


def test_the_server_stays_healthy_after_the_attacks(hardened: RunningServer) -> None:
    body, content_type, unique_id = signed_feed(hardened)
    response = httpx.post(
        f"{hardened.url}{SERVICE}", content=body, headers={"content-type": content_type}, timeout=30
    )
    assert response.status_code == 200 and hardened.store.document(unique_id) is not None


@pytest.fixture
def on_each_database(db_url: str, pki: TestPki) -> Iterator[RunningServer]:
    settings = ServerSettings(db_url=db_url, trust=pki.trust, validate_requests=False)
    with serving(seeded_store(db_url), settings, pki) as running:
        yield running


def test_overlong_values_are_refused_on_every_database(on_each_database: RunningServer) -> None:
    """PostgreSQL enforces column widths, SQLite does not: an overlong value is a refusal, never a 500."""
    server = on_each_database
    long_code = Code("X" * 300, "1.2.250.1.213.1.1.4.1", "Compte rendu")
    for fields in ({"unique_id": "1.2.250.1.999." + "1" * 200}, {"class_code": long_code}):
        body, content_type, unique_id = signed_feed(server, **fields)
        response = httpx.post(
            f"{server.url}{SERVICE}", content=body, headers={"content-type": content_type}, timeout=30
        )
        assert response.status_code == 200, response.text[:300]
        registry = parse_body(parse_message(response.content, response.headers["content-type"]))
        if registry.success:  # SQLite has no column widths: then it is stored whole
            assert server.store.document(unique_id) is not None
        else:
            assert registry.errors[0].error_code == "XDSRegistryMetadataError", fields
            assert server.store.document(unique_id) is None
    before = registry_counts(server.store.engine)
    envelope = _envelope("<x/>").replace(b"urn:ihe:iti:2007:RegistryStoredQuery", b"urn:" + b"a" * 400)
    assert (
        _assert_refused(_timed_post(server.url, envelope, "application/soap+xml")[0]) == "ActionNotSupported"
    )
    response = httpx.post(
        f"{server.url}/si-dmp-server/v2/services/{'x' * 700}",
        content=_envelope("<x/>"),
        headers={"content-type": "application/soap+xml"},
        timeout=30,
    )
    assert _assert_refused(response, {404}) == "DMPUnknownService"
    assert registry_counts(server.store.engine) == before
