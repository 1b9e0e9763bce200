"""Our FHIR OpenAPI document against the official PDSm server document (GestionnaireDePartageDeDocuments): same
paths and parameters for the operations we implement, every difference listed here on purpose."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.fhir_server.conftest import Fhir
from tests.schemathesis.conftest import official_document

# Official path+method → ours (the official document is relative to the FHIR base, ours is under /fhir).
OPERATIONS = {("GET", "/metadata"): ("GET", "/fhir/metadata"),
              ("GET", "/List"): ("GET", "/fhir/List"),
              ("GET", "/List/{rid}"): ("GET", "/fhir/List/{rid}"),
              ("GET", "/DocumentReference"): ("GET", "/fhir/DocumentReference"),
              ("GET", "/DocumentReference/{rid}"): ("GET", "/fhir/DocumentReference/{rid}"),
              ("PATCH", "/DocumentReference/{rid}"): ("PATCH", "/fhir/DocumentReference/{rid}"),
              ("GET", "/Binary/{rid}"): ("GET", "/fhir/Binary/{rid}"),
              ("PUT", "/"): ("POST", "/fhir")}  # FHIR R4 transactions are POST [base]: the official PUT is an error
# Official parameter names we answer under other names (the official names are SearchParameter ids or labels
# with spaces, not search codes: fhir-pdsm.md §3.2); the two PDSm "source" SearchParameters are chains on the
# source's given and family names.
RENAMED: dict[str, tuple[str, ...]] = {
    "PDSm_isArchived": ("isArchived",), "PDSm_DocumentReference_period-start": ("period-start",),
    "PDSm_DocumentReference_period-end": ("period-end",), "DocumentReference Patient": ("patient",),
    "DesignationType": ("designationType",), "SourceId": ("sourceId",), "PDSm_authorOrg": ("authorOrg",),
    "PDSm_List_PatientAsSource": ("source.given", "source.family"),
    "PDSm_List_PractitionerRoleAsSource": ("source.given", "source.family"),
    "DocumentRefence Author": ("author", "author.identifier", "author.given", "author.family")}
# Result-shaping parameters of every official operation that the reference DMP ignores (JSON only, full resources).
IGNORED = {"_format", "_pretty", "_summary", "_elements"}
# Parameters we add: the MHD minimum (patient.identifier), MHD/PDSm search codes missing from the official list.
ADDED = {"patient.identifier", "facility", "_count", "relatesto", "related", "date", "creation", "period", "event"}


def _parameters(document: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    names = set()
    for parameter in operation.get("parameters", []):
        if "$ref" in parameter:
            parameter = document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[-1]]
        if parameter.get("in") == "query":
            names.add(parameter["name"])
    return names


@pytest.fixture(scope="module")
def official(official_dir: Path) -> dict[str, Any]:
    if not (official_dir / "fhir" / "ans.fhir.fr.pdsm-package.tgz").is_file():
        pytest.skip("the official PDSm package is absent")
    return official_document(official_dir / "fhir")


def test_same_operations_and_parameters_as_the_official_server_document(fhir: Fhir, official: dict[str, Any]) -> None:
    ours = fhir.http.get("/fhir/openapi.json").json()
    for path, methods in official["paths"].items():
        for method, operation in methods.items():
            if not isinstance(operation, dict) or method == "parameters":
                continue
            our_method, our_path = OPERATIONS[(method.upper(), path)]
            mine = ours["paths"][our_path][our_method.lower()]
            expected = {name for n in _parameters(official, operation) - IGNORED for name in RENAMED.get(n, (n,))}
            got = _parameters(ours, mine)
            assert expected <= got, (path, method, expected - got)
            assert got - expected <= ADDED, (path, method, got - expected - ADDED)


def test_declared_errors_and_primitive_patterns(fhir: Fhir) -> None:
    ours = fhir.http.get("/fhir/openapi.json").json()
    for path, methods in ours["paths"].items():
        for method, operation in methods.items():
            declared = set(operation["responses"])
            assert {"400", "401", "404", "422"} <= declared, (method, path)
            if method in ("post", "patch"):
                assert {"409", "413"} <= declared, (method, path)
            for status, answer in operation["responses"].items():
                if status.startswith(("4", "5")):
                    schema = answer["content"]["application/fhir+json"]["schema"]
                    assert schema["properties"]["resourceType"]["enum"] == ["OperationOutcome"]
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                schema = schema.get("anyOf", [schema])[0]
                if schema.get("type") == "string":
                    assert schema.get("pattern") or schema.get("minLength"), (path, parameter["name"])
                    if schema.get("pattern"):
                        re.compile(schema["pattern"])
    assert "bearer" in str(ours["components"]["securitySchemes"]).lower()
