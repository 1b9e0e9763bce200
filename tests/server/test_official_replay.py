"""Replay of the official example requests against a reference DMP seeded with their patient (lenient signatures:
the official VIHF is unsigned and from 2019): each answer has the action, root element, status and shape of the
official response."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lxml import etree

from conformance.server.seed import PatientSeed, seed_patient
from conformance.server.settings import ServerSettings
from conformance.soap import parse_message
from conformance.store import (
    HAS_MEMBER,
    AuthorizationStatus,
    EntryStatus,
    NewAssociation,
    NewDocument,
    NewEntry,
    NewSubmissionSet,
    Store,
    Submission,
)
from tests.server.conftest import RunningServer, serving

pytestmark = pytest.mark.official

PATIENT_CX = "207058575627097^^^&1.2.250.1.213.1.4.10&ISO^NH"
PS = "899900063480"
STRUCTURE = "499900063480001"
RETRIEVED = "1.2.250.1.999.1.1.7898.1.995657292"  # TD3.2 request
ARCHIVED = "urn:uuid:fe5287a2-ae6a-11eb-8f5d-0050569e422e"  # TD3.3c request (Archived → Deleted)


def _seed(store: Store) -> None:
    store.upsert_professional(PS, family_name="LIBRE", given_name="MAX", role_code="10",
                              specialty_code="G15_10/SM26",
                              specialty_label="Médecin - Qualifié en Médecine générale (SM)")
    seed_patient(store, PatientSeed("207058575627097", "1.2.250.1.213.1.4.10", family_name="patb-quatre",
                                    given_name="LAURENCE", birth_date="19070525", gender="M",
                                    traits={"ins_c": "1197854176879056415520", "prefix": "M"},
                                    authorizations=[(PS, AuthorizationStatus.GRANTED, True)]))
    seed_patient(store, PatientSeed("157069329642881", "1.2.250.1.213.1.4.10", family_name="DECHAINE",
                                    given_name="IRENE", birth_date="19570628", gender="F",
                                    traits={"used_name": "ENCHAINE", "prefix": "Mme"}))  # TD0.5 answer
    entries = [NewEntry(entry_uuid=f"e{i}", unique_id=uid, patient_id=PATIENT_CX, author_persons=[PS],
                        author_institutions=[STRUCTURE], class_code="11^^1.2.250.1.213.1.1.4.1",
                        metadata={"title": "Compte rendu", "comments": "seeded"})
               for i, uid in enumerate((RETRIEVED, "1.2.250.1.999.1.1.7898.1.42"))]
    entries[1].entry_uuid = ARCHIVED
    store.register_submission(Submission(
        NewSubmissionSet("ss", "1.2.250.1.999.1.1.7898.3.1", PATIENT_CX), entries,
        [NewDocument(RETRIEVED, b"<ClinicalDocument/>"), NewDocument(entries[1].unique_id, b"<archived/>")],
        [NewAssociation(f"a{i}", HAS_MEMBER, "ss", e.entry_uuid) for i, e in enumerate(entries)],
        repository_id="1.2.250.1.213.4.1.1.1.2"))
    store.update_status(ARCHIVED, EntryStatus.ARCHIVED)


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory, dmp_lps_package: Path) -> Iterator[tuple[RunningServer, Path]]:
    path = tmp_path_factory.mktemp("replay") / "dmp.db"
    store = Store.open(f"sqlite:///{path}")
    _seed(store)
    settings = ServerSettings(lenient_signatures=True, pdq_regulation_only=False)
    with serving(store, settings, None) as running:  # type: ignore[arg-type]
        yield running, dmp_lps_package / "examples"


def _shape(element: etree._Element, depth: int = 3, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Local-name paths below ``element`` down to ``depth`` levels: the skeleton two answers must share."""
    paths: set[tuple[str, ...]] = set()
    if depth == 0:
        return paths
    for child in element:
        if isinstance(child.tag, str):
            path = (*prefix, etree.QName(child).localname)
            paths.add(path)
            paths |= _shape(child, depth - 1, path)
    return paths


STATUS_PATHS = ("//*[local-name()='RegistryResponse']/@status", "//*[local-name()='AdhocQueryResponse']/@status",
                "//*[local-name()='queryResponseCode']/@code", "//*[local-name()='acknowledgement']/@typeCode",
                "//*[local-name()='output']/*[local-name()='status']/text()")


CASES = [
    ("TD0.2_Test_dexistence", "patients"),
    ("TD0.3_Mise_a_jour_de_lautorisation", "habilitations"),
    ("TD0.4_Liste_des_DMP_autorises", "PatientSpecific"),
    ("TD0.5_Recherche_dun_patient_sans_INS", "pdq"),
    ("TD1.3a_Consultation", "patients"),
    ("TD1.6_Liste_des_PS_autorises_ou_bloques", "habilitations"),
    ("TD2.1_Alimentation", "repository"),
    ("TD3.1_Recherche_de_document", "registry"),
    ("TD3.2_Consultation_dun_document", "repository"),
    ("TD3.3c_Supprimer_un_document", "registry"),
]


@pytest.mark.parametrize(("name", "alias"), CASES, ids=[c[0].split("_")[0] for c in CASES])
def test_official_request_gets_an_answer_shaped_like_the_official_response(
        replay: tuple[RunningServer, Path], name: str, alias: str) -> None:
    server, examples = replay
    request = (examples / f"{name}_requete.xml").read_bytes()
    official = parse_message((examples / f"{name}_reponse.xml").read_bytes())
    # The TD2.1 capture is a raw MIME body without headers: sent as captured, the server finds the boundary.
    headers = {} if name.startswith("TD2.1") else {"content-type": "application/soap+xml; charset=UTF-8"}
    response = httpx.post(f"{server.url}/si-dmp-server/v2/services/{alias}", content=request, headers=headers,
                          timeout=30)
    assert response.status_code == 200, response.text[:800]
    ours = parse_message(response.content, response.headers["content-type"])
    assert ours.fault is None
    assert ours.action == official.action
    assert ours.body is not None and official.body is not None
    assert etree.QName(ours.body).localname == etree.QName(official.body).localname
    for path in STATUS_PATHS:
        assert ours.body.xpath(path) == official.body.xpath(path), path
    missing = _shape(official.body) - _shape(ours.body)
    assert not missing, f"elements of the official response missing from ours: {sorted(missing)}"
