"""Assertions on DMP answers that say what was expected and what came back (status, SOAP fault, parse
error)."""

from __future__ import annotations

from typing import Any


def explain(response: Any) -> str:
    """One line about an answer: HTTP status, the SOAP fault's code, subcodes and reason, or why it is
    unreadable."""
    parts = [f"HTTP {response.status_code}"]
    fault = response.fault
    if fault is not None:
        codes = "/".join([fault.code, *fault.subcodes])
        parts.append(f"SOAP fault {codes}: {fault.reason}")
    elif response.error:
        parts.append(f"unreadable answer: {response.error}")
    return ", ".join(parts)


def expect_ok(response: Any, transaction: str, action: str) -> None:
    """HTTP 200, no fault, and the response action of the transaction."""
    assert response.status_code == 200 and response.fault is None, (
        f"{transaction}: expected HTTP 200 with {action}, got {explain(response)}"
    )
    assert response.action == action, (
        f"{transaction}: response action is {response.action}, expected {action}"
    )
