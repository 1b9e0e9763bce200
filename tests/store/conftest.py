"""Store fixtures: a fresh SQLite file per test, and PostgreSQL when DMP_CONFORMANCE_PG_URL is set."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from conformance.store import Store, make_engine
from conformance.store.schema import Base
from tests.store.factory import PATIENT_INS, PATIENT_OID

PG_ENV = "DMP_CONFORMANCE_PG_URL"


_PG_READY: list[bool] = []


def _postgres_store() -> Store:
    """The PostgreSQL store, schema recreated once per session and emptied before each test."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"no PostgreSQL server: set {PG_ENV}")
    try:
        if not _PG_READY:
            engine = make_engine(url)
            Base.metadata.drop_all(engine)
            engine.dispose()
            _PG_READY.append(True)
        opened = Store.open(url)
    except Exception as exc:  # the server named by the URL is not reachable
        pytest.skip(f"PostgreSQL at {PG_ENV} not usable: {exc}")
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables if t.name != "schema_version")
    with opened.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return opened


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'dmp.db'}") if request.param == "sqlite" else _postgres_store()
    opened.add_patient(PATIENT_INS, PATIENT_OID, family_name="DUPONT", given_name="JEAN", birth_date="19700101",
                       gender="M")
    yield opened
    opened.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'dmp.db'}"
