"""Fixtures of the VIHF tests: a trusted test PKI, an untrusted one, and signed tokens built at run time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from lxml import etree

from conformance.pki import CertifiedKey, TestPki
from conformance.vihf import AuthMode, Vihf, VihfPolicy, new_vihf, sign_vihf

# "now" of the tests: the present (the run-time PKI is valid from 30 days ago), frozen once per session
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture(scope="session")
def pki() -> TestPki:
    return TestPki.generate()


@pytest.fixture(scope="session")
def rogue_pki() -> TestPki:
    """An independent CA that no policy trusts."""
    return TestPki.generate("rogue")


@pytest.fixture
def policy(pki: TestPki) -> VihfPolicy:
    return VihfPolicy(trust=pki.trust, now=NOW)


@pytest.fixture
def make_vihf(pki: TestPki) -> Callable[..., Vihf]:
    def make(mode: AuthMode = AuthMode.INDIRECTE, signer: CertifiedKey | None = None, **fields: object) -> Vihf:
        signer = signer or (pki.ps_signature if mode is AuthMode.DIRECTE else pki.structure)
        return new_vihf(mode, signer=signer, issue_instant=NOW - dt.timedelta(seconds=30), **fields)  # type: ignore[arg-type]
    return make


@pytest.fixture
def signed(pki: TestPki) -> Callable[..., etree._Element]:
    """Sign a VIHF with the signer its mode implies (or the one given)."""
    def sign(vihf: Vihf, signer: CertifiedKey | None = None, **kwargs: object) -> etree._Element:
        signer = signer or (pki.ps_signature if vihf.mode is AuthMode.DIRECTE else pki.structure)
        return sign_vihf(vihf, signer, **kwargs)  # type: ignore[arg-type]
    return sign
