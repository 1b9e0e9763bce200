"""Slow-loris on the request head: the reference DMP (the protocol of ``serve``,
:class:`conformance.server.tls.HardenedH11Protocol`) closes a connection whose request head does not arrive
within ``header_timeout_seconds``, answering 408 when part of a head came, and keeps serving the others."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator
from contextlib import closing
from urllib.parse import urlsplit

import httpx
import pytest

from conformance.pki import TestPki
from tests.security.conftest import limited_dmp
from tests.server.conftest import RunningServer

HEADER_TIMEOUT = 1.0
MARGIN = 2.0  # scheduling slack on a loaded CI machine
PARTIAL_HEAD = b"POST /si-dmp-server/v2/services/registry HTTP/1.1\r\nHost: x\r\n"
HEALTH = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture(scope="module")
def slow_guarded(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> Iterator[RunningServer]:
    with limited_dmp(tmp_path_factory.mktemp("slow-headers") / "dmp.db", pki,
                     header_timeout_seconds=HEADER_TIMEOUT) as running:
        yield running


def connect(server: RunningServer) -> socket.socket:
    address = urlsplit(server.url)
    sock = socket.create_connection((address.hostname, address.port), timeout=HEADER_TIMEOUT + MARGIN)
    return sock


def until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """All the server sends until it closes the connection, and how long that took."""
    start, received = time.monotonic(), b""
    while chunk := sock.recv(4096):  # raises socket.timeout if the server keeps the connection open
        received += chunk
    return received, time.monotonic() - start


def read_response(sock: socket.socket) -> http.client.HTTPResponse:
    response = http.client.HTTPResponse(sock)
    response.begin()
    response.read()
    return response


def test_partial_head_then_silence_gets_408_and_close(slow_guarded: RunningServer) -> None:
    with closing(connect(slow_guarded)) as sock:
        sock.sendall(PARTIAL_HEAD)
        received, elapsed = until_closed(sock)
    assert received.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in received.lower()
    assert HEADER_TIMEOUT * 0.8 <= elapsed < HEADER_TIMEOUT + MARGIN


def test_trickled_head_is_cut_at_the_deadline(slow_guarded: RunningServer) -> None:
    """A byte every 100 ms keeps data flowing but the head never completes: the deadline is not reset."""
    with closing(connect(slow_guarded)) as sock:
        sock.sendall(PARTIAL_HEAD)
        sock.settimeout(0.1)
        start, received = time.monotonic(), b""
        while time.monotonic() - start < HEADER_TIMEOUT + MARGIN:
            try:
                sock.sendall(b"X")
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:  # reset after the server closed
                break
            received += chunk
            if not chunk:
                break
        elapsed = time.monotonic() - start
    assert received.startswith(b"HTTP/1.1 408 ")
    assert elapsed < HEADER_TIMEOUT + MARGIN


def test_silent_connection_is_closed_without_response(slow_guarded: RunningServer) -> None:
    with closing(connect(slow_guarded)) as sock:
        received, elapsed = until_closed(sock)
    assert received == b""
    assert HEADER_TIMEOUT * 0.8 <= elapsed < HEADER_TIMEOUT + MARGIN


def test_head_in_pieces_within_the_deadline_is_served(slow_guarded: RunningServer) -> None:
    with closing(connect(slow_guarded)) as sock:
        sock.sendall(HEALTH[:10])
        time.sleep(HEADER_TIMEOUT / 3)
        sock.sendall(HEALTH[10:])
        assert read_response(sock).status == 200


def test_keep_alive_connection_idle_after_response_is_closed(slow_guarded: RunningServer) -> None:
    with closing(connect(slow_guarded)) as sock:
        sock.sendall(HEALTH)
        assert read_response(sock).status == 200
        sock.sendall(HEALTH)  # kept alive: a second request on the connection is served
        assert read_response(sock).status == 200
        received, elapsed = until_closed(sock)
    assert received == b""  # nothing of a new request came: a plain close
    assert elapsed < HEADER_TIMEOUT + MARGIN


def test_partial_head_after_a_response_gets_408(slow_guarded: RunningServer) -> None:
    """uvicorn's keep-alive timer stops at the first byte; the head deadline covers the rest."""
    with closing(connect(slow_guarded)) as sock:
        sock.sendall(HEALTH)
        assert read_response(sock).status == 200
        sock.sendall(PARTIAL_HEAD)
        received, elapsed = until_closed(sock)
    assert received.startswith(b"HTTP/1.1 408 ")
    assert elapsed < HEADER_TIMEOUT + MARGIN


def test_other_clients_are_served_meanwhile(slow_guarded: RunningServer) -> None:
    stalled = [connect(slow_guarded) for _ in range(8)]
    try:
        for sock in stalled[::2]:
            sock.sendall(PARTIAL_HEAD)
        start = time.monotonic()
        for _ in range(3):
            assert httpx.get(f"{slow_guarded.url}/health", timeout=HEADER_TIMEOUT + MARGIN).status_code == 200
        assert time.monotonic() - start < HEADER_TIMEOUT  # served while the stalled connections are still open
        for index, sock in enumerate(stalled):
            received, _ = until_closed(sock)
            assert received.startswith(b"HTTP/1.1 408 ") if index % 2 == 0 else received == b""
    finally:
        for sock in stalled:
            sock.close()
