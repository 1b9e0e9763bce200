"""Fixtures of the server-role suite: a DMP client bound to the SUT."""

from __future__ import annotations

import importlib.util

import pytest


@pytest.fixture(scope="session")
def dmp_client_available() -> None:
    if importlib.util.find_spec("conformance.client") is None:
        pytest.skip("reference DMP client not available (conformance.client is not installed yet)")
