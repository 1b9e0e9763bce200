"""The reference DMP in process for schemathesis: one app and store per session, seeded with the FHIR tests'
patient and professionals, a bearer token for the author, and the official PDSm OpenAPI made usable offline."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from conformance.server.app import create_app
from conformance.server.fhir import issue_token
from conformance.server.settings import ServerSettings
from conformance.store import Store
from conformance.suites.pdsm.documents import AUTHOR_ID
from tests.fhir_server.conftest import seed

OFFICIAL_SERVER_DOCUMENT = "package/openapi/PDSm-GestionnaireDePartageDeDocuments.openapi.json"


@pytest.fixture(scope="session")
def dmp_app() -> Iterator[tuple[FastAPI, Store]]:
    store = Store.open("sqlite://")
    seed(store)
    app = create_app(ServerSettings(admin_enabled=True, validate_requests=False), store)
    with TestClient(app):  # runs the lifespan: the store is open for every schemathesis call
        yield app, store
    store.close()


@pytest.fixture(scope="session")
def auth_headers(dmp_app: tuple[FastAPI, Store]) -> dict[str, str]:
    token = issue_token(dmp_app[0].state.fhir_token_key, {"sub": AUTHOR_ID}, lifetime=6 * 3600)
    return {"Authorization": f"Bearer {token}"}


def offline(document: dict[str, Any]) -> dict[str, Any]:
    """The official document with its remote ``$ref`` (hl7.org JSON schema / XSD) replaced by a FHIR resource
    object or an XML string (no network here), served under ``/fhir``."""
    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str) and not node["$ref"].startswith("#"):
                xsd = node["$ref"].endswith(".xsd")
                return {"type": "string"} if xsd else {"type": "object", "required": ["resourceType"]}
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    converted = walk(document)
    converted["servers"] = [{"url": "/fhir"}]
    return converted  # type: ignore[no-any-return]


def official_document(official_fhir: Path) -> dict[str, Any]:
    archive = official_fhir / "ans.fhir.fr.pdsm-package.tgz"
    with tarfile.open(archive) as tar:
        member = tar.extractfile(OFFICIAL_SERVER_DOCUMENT)
        assert member is not None
        return json.load(io.TextIOWrapper(member, encoding="utf-8-sig"))  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def official_fhir_dir(official_dir: Path) -> Path:
    folder = official_dir / "fhir"
    if not (folder / "ans.fhir.fr.pdsm-package.tgz").is_file():
        pytest.skip(f"the official PDSm package is not in {folder}")
    return folder
