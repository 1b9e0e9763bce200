"""The DMP-specific and HL7 v3 services over HTTP: TD0.2, TD0.3, TD0.4, TD0.5, TD1.3a, TD1.3b, TD1.4, TD1.6."""

from __future__ import annotations

import pytest

from conformance.identity import Ins
from conformance.pki import TestPki
from conformance.server.seed import PatientSeed, seed_patient
from conformance.store import AuthorizationStatus
from conformance.vihf import CodedValue
from tests.server.conftest import OTHER_PATIENT, PATIENT, STRANGER, RunningServer

REGULATION = CodedValue("centre_15", "1.2.250.1.213.1.1.4.248", "Accès en mode centre de régulation")


@pytest.mark.requirement("BENCH-DMP-TD0.2", "RG_0310")
def test_td02_existence_and_authorization(dmp: RunningServer) -> None:
    with dmp.client() as client:
        found = client.test_existence(PATIENT)
        missing = client.test_existence(Ins("299129999999911", PATIENT.oid))
    assert found.action == "urn:hl7-org:v3:PRPA_IN201308UV02"
    assert found.attribute("value", "code") == "VALIDE"
    assert found.attribute("queryResponseCode", "code") == "OK"
    assert found.attribute("acknowledgement", "typeCode") == "AA"
    assert missing.attribute("queryResponseCode", "code") == "NF"
    assert missing.attribute("value", "code") is None  # no attentionLine without a DMP


@pytest.mark.requirement("BENCH-DMP-TD1.3a")
def test_td13a_reads_administrative_data_only_with_an_authorization(dmp: RunningServer) -> None:
    with dmp.client() as client:
        allowed = client.read_administrative_data(PATIENT)
    with dmp.client(STRANGER) as client:
        refused = client.read_administrative_data(PATIENT)
    assert allowed.attribute("reasonCode", "code") == "CNSLT_DATA" and allowed.text("family") == "DUPONT"
    assert allowed.attribute("deceasedInd", "value") == "false"
    assert refused.attribute("acknowledgement", "typeCode") == "AE"
    assert refused.attribute("code", "code") == "DMPAccessDenied"


@pytest.mark.requirement("BENCH-DMP-TD0.3")
def test_td03_add_then_remove_ones_own_authorization(dmp: RunningServer) -> None:
    newcomer = "810000000077"
    with dmp.client(newcomer) as client:
        added = client.set_authorization(OTHER_PATIENT, "AJOUT", "MEDECIN_TRAITANT")
        again = client.set_authorization(OTHER_PATIENT, "AJOUT")
        listed = client.list_authorizations(OTHER_PATIENT, "ACTIVE")
        removed = client.set_authorization(OTHER_PATIENT, "SUPPRESSION")
        invalid = client.set_authorization(OTHER_PATIENT, "PEUT-ETRE")
    assert added.action == "urn:si-dmp-habilitations:HabilitationsEndPoint:setAuthorizationResponse"
    assert (added.text("status"), added.text("context")) == ("DMPOk", "Autorisation ajoutée")
    assert again.text("context") == "Autorisation déjà présente aucune action effectuée"
    assert listed.text("nationalId") == newcomer and listed.text("mode") == "ACTIVE"
    assert removed.text("context") == "Autorisation supprimée"
    assert invalid.status_code == 400 and invalid.fault.subcodes == ["DMPInvalidData"]
    assert invalid.action == "urn:si-dmp-habilitations:HabilitationsEndPoint:setAuthorization:Fault:SoapFault"
    patient = dmp.store.patient(OTHER_PATIENT.cx())
    assert patient is not None
    auth = dmp.store.authorization(patient.id, newcomer)
    assert auth is not None and auth.status == AuthorizationStatus.REVOKED


def test_td03_blocked_professional_cannot_add_itself(dmp: RunningServer) -> None:
    patient = dmp.store.patient(OTHER_PATIENT.cx())
    assert patient is not None
    dmp.store.set_authorization(patient.id, "810000000066", AuthorizationStatus.BLOCKED)
    with dmp.client("810000000066") as client:
        response = client.set_authorization(OTHER_PATIENT, "AJOUT")
        blocked = client.list_authorizations(OTHER_PATIENT)
    assert response.fault.subcodes == ["DMPAccessDenied"]
    assert blocked.fault is not None  # a blocked professional may not list either


@pytest.mark.requirement("BENCH-DMP-TD1.6")
def test_td16_lists_active_and_blocked(dmp: RunningServer) -> None:
    patient = dmp.store.patient(PATIENT.cx())
    assert patient is not None
    dmp.store.set_authorization(patient.id, "810000000055", AuthorizationStatus.BLOCKED)
    with dmp.client() as client:
        everything = client.list_authorizations(PATIENT, "TOUTE")
        blocked = client.list_authorizations(PATIENT, "INTERDITE")
    assert everything.action.endswith("listAuthorizationByPatientResponse")
    ids = [e.text for e in everything.body.xpath(".//*[local-name()='nationalId']")]
    assert TestPki.PS_ID_NAT in ids and "810000000055" in ids
    assert [e.text for e in blocked.body.xpath(".//*[local-name()='mode']")] == ["INTERDITE"]
    assert everything.text("codeSpeciality") == "G15_10/SM26"


def test_td04_lists_the_callers_dmps(dmp: RunningServer) -> None:
    with dmp.client() as client:
        response = client.patient_list(PATIENT)
    assert response.action == "urn:si-dmp-patients:PatientSpecificEndPoint:patientListResponse"
    assert response.text("nationalId") == PATIENT.value and response.text("MT") == "true"
    assert response.text("status") == "DMPOk"


def test_td05_search_without_ins_only_in_regulation_mode(dmp: RunningServer) -> None:
    with dmp.client() as client:
        refused = client.search_patients(PATIENT, family_name="DUP")
    with dmp.client(purpose=REGULATION) as client:
        found = client.search_patients(PATIENT, family_name="DUP")
        none = client.search_patients(PATIENT, family_name="NOBODY")
    assert refused.attribute("queryResponseCode", "code") == "AE"
    assert found.action == "urn:hl7-org:v3:PRPA_IN201306UV02"
    assert found.attribute("queryResponseCode", "code") == "OK" and found.text("family") == "DUPONT"
    assert none.attribute("queryResponseCode", "code") == "NF"
    history = dmp.store.access_history(actor_id=TestPki.PS_ID_NAT)
    assert any(h.transaction == "TD0.5" and h.mode == "regulation" for h in history)


def test_td14_closes_only_a_dmp_not_attached_to_mes(dmp: RunningServer) -> None:
    detached = Ins("153078987658513", PATIENT.oid)
    seed_patient(dmp.store, PatientSeed(detached.value, detached.oid, family_name="DETACHE", attached_to_mes=False,
                                        authorizations=[(TestPki.PS_ID_NAT, AuthorizationStatus.GRANTED, False)]))
    with dmp.client() as client:
        refused = client.revise_patient(PATIENT, close=True)
        renamed = client.revise_patient(detached, family_name="RENOMME")
        closed = client.revise_patient(detached, close=True)
        after = client.test_existence(detached)
    assert refused.attribute("acknowledgement", "typeCode") == "AE"
    assert renamed.attribute("acknowledgement", "typeCode") == "AA"
    assert closed.attribute("acknowledgement", "typeCode") == "AA"
    assert after.attribute("statusCode", "code") == "completed"
    assert after.body.xpath("string(.//*[local-name()='patient']/*[local-name()='statusCode']/@code)") == "terminated"
    patient = dmp.store.patient(detached.cx())
    assert patient is not None and patient.family_name == "RENOMME" and patient.dmp_status == "closed"


def test_removed_and_suspended_transactions_answer_a_fault(dmp: RunningServer) -> None:
    with dmp.client() as client:
        response = client.call("patients", "urn:si-dmp-patients:PatientSpecificEndPoint:createPatientAccess",
                               client_body(), PATIENT)
    assert response.fault.subcodes == ["DMPTransactionNotAvailable"]
    assert response.action.endswith("createPatientAccess:Fault:SoapFault")


def client_body() -> object:
    from lxml import etree

    return etree.Element("{urn:si-dmp-patients}createPatientAccess")
