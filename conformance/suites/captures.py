"""Reading the reference DMP's captures: what an LPS under test sent, the answer, and the validators'
findings."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from conformance.findings import Finding, Severity, Source


class NoCapture(AssertionError):
    """The LPS did not send the expected transaction in time."""


def wait_for_capture(
    dmp: httpx.Client,
    transaction: str,
    *,
    timeout: float,
    poll: float = 0.2,
    settle: float = 1.0,
    give_up: Callable[[], str | None] = lambda: None,
) -> dict[str, Any]:
    """The first capture of ``transaction`` (e.g. ``TD2.1``), with its findings; waits up to ``timeout``
    seconds.

    ``give_up`` returns a reason to stop waiting early (the LPS scenario ended), or None to keep waiting.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = (
            dmp.get("/captures", params={"transaction": transaction, "limit": 1}).raise_for_status().json()
        )
        if found:
            return _settled(dmp, int(found[0]["id"]), settle, poll)
        reason = give_up()
        if reason is not None:
            raise NoCapture(f"the LPS sent no {transaction} request: {reason}")
        if time.monotonic() > deadline:
            raise NoCapture(f"the LPS sent no {transaction} request within {timeout:.0f} s")
        time.sleep(poll)


def _settled(
    dmp: httpx.Client, capture_id: int, settle: float, poll: float, limit: float = 30.0
) -> dict[str, Any]:
    """The capture once the reference DMP's validators are done with it (they run after the response went
    out).

    The capture says so with ``validated``; a server without that flag is given ``settle`` seconds without a
    change of its findings.
    """
    capture = dmp.get(f"/captures/{capture_id}").raise_for_status().json()
    stable_since, end = time.monotonic(), time.monotonic() + limit
    while time.monotonic() < end:
        if capture.get("validated") or (
            "validated" not in capture and time.monotonic() - stable_since >= settle
        ):
            return capture
        time.sleep(poll)
        latest = dmp.get(f"/captures/{capture_id}").raise_for_status().json()
        if latest.get("findings") != capture.get("findings"):
            stable_since = time.monotonic()
        capture = latest
    raise NoCapture(f"capture {capture_id} was not validated within {limit:.0f} s")


def findings_of(capture: dict[str, Any]) -> list[Finding]:
    """The findings the reference DMP's validators stored with a capture, as Finding objects."""
    return [
        Finding(
            rule=f["rule"],
            severity=Severity(f["severity"]),
            source=Source(f["source"]),
            message=f["message"],
            location=f.get("location"),
            line=f.get("line"),
            hint=f.get("hint"),
            extra=f.get("extra") or {},
        )
        for f in capture.get("findings") or []
    ]
