"""HL7 v3 services of the reference DMP (GDP and PDQ): TD0.2, TD1.3a, TD1.3b, TD1.4 and TD0.5.

Responses follow the official examples (``TD0.2_Test_dexistence_reponse.xml``, ``TD1.3a_Consultation_reponse.xml``,
``TD0.5_Recherche_dun_patient_sans_INS_reponse.xml``): device ids, attentionLine pairs, acknowledgement naming
the request id, registrationEvent with the patient, custodian and queryAck.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from lxml import etree

from conformance.server.access import allow, check_dmp_access, check_transaction
from conformance.server.errors import server_finding
from conformance.server.exchange import Exchange, Reply, same_patient
from conformance.store import AuthorizationStatus, DmpStatus, Patient
from conformance.xml.builder import hl7_element as _h

HL7 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
REASON_SYSTEM = "1.2.250.1.213.1.1.4.11"
INS_C_OID = "1.2.250.1.213.1.4.2"
AUTHORIZATION_VALUES = {  # TD0.2 attentionLine AUTORISATION (EX, DevBox)
    AuthorizationStatus.GRANTED: "VALIDE", AuthorizationStatus.BLOCKED: "INTERDIT",
    AuthorizationStatus.REVOKED: "EXPIRE", None: "NON_EXISTE",
}
REASONS = {"TEST_EXST": "Test d'existence de dossier", "CNSLT_DATA": "Consultation des données de gestion de dossier",
           "MODIF_DATA": "Modification des données de gestion de dossier", "FERM": "Fermeture de dossier"}


def _typed(parent: etree._Element, local: str, xsi_type: str, **attrib: str) -> etree._Element:
    element = _h(parent, local, **attrib)
    element.set(f"{{{XSI}}}type", xsi_type)
    return element


def _find(element: etree._Element, path: str) -> etree._Element | None:
    return element.find(path, {"h": HL7})


def _now() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S")


def _device(parent: etree._Element, role: str, type_code: str, root: str, name: str | None) -> None:
    device = _h(_h(parent, role, typeCode=type_code), "device", classCode="DEV", determinerCode="INSTANCE")
    _h(device, "id", root=root)
    if name:
        _h(device, "softwareName", name)


def _envelope(exchange: Exchange, interaction: str) -> etree._Element:
    """The transmission wrapper: ids, receiver = the LPS, sender = the DMP, acknowledgement of the request."""
    request = exchange.body
    root = _h(None, interaction, ITSVersion="XML_1.0")
    _h(root, "id", root=str(uuid.uuid4()))
    _h(root, "creationTime", value=_now())
    _h(root, "interactionId", extension=interaction, root="2.16.840.1.113883.1.6")
    _h(root, "processingCode", code="P")
    _h(root, "processingModeCode", code="T")
    _h(root, "acceptAckCode", code="NE")
    lps = _find(request, "h:sender/h:device")
    lps_id = _find(lps, "h:id") if lps is not None else None
    lps_name = _find(lps, "h:softwareName") if lps is not None else None
    _device(root, "receiver", "RCV", lps_id.get("root", "") if lps_id is not None else "",
            lps_name.text if lps_name is not None else None)
    _device(root, "sender", "SND", exchange.settings.dmp_oid, "DMP")
    return root


def _acknowledge(root: etree._Element, exchange: Exchange, ack_type: str, detail: str | None = None,
                 pdq: bool = False) -> None:
    request_id = _find(exchange.body, "h:id")
    if pdq:  # PDQv3 writes the type code as an element
        ack = _h(root, "acknowledgement")
        _h(ack, "typeCode", code=ack_type)
    else:
        ack = _h(root, "acknowledgement", typeCode=ack_type)
    target = _h(ack, "targetMessage")
    if request_id is not None:
        _h(target, "id", **{k: v for k, v in request_id.attrib.items() if k in ("root", "extension")})
    if detail:
        item = _h(ack, "acknowledgementDetail", typeCode="E")
        _h(item, "code", code=detail, codeSystem=exchange.settings.dmp_oid)
        _h(item, "text", detail)


def _attention_line(root: etree._Element, key: str, key_system: str, value: etree._Element) -> None:
    line = _h(root, "attentionLine")
    _h(line, "keyWordText", code=key, codeSystem=key_system)
    line.append(value)


def _bool_value(value: bool) -> etree._Element:
    element = etree.Element(f"{{{HL7}}}value", value="true" if value else "false")
    element.set(f"{{{XSI}}}type", "BL")
    return element


def _requested_patient(exchange: Exchange) -> str | None:
    """The patient of ``queryByParameter/parameterList/patientIdentifier/value`` as a CX."""
    value = _find(exchange.body, ".//h:parameterList/h:patientIdentifier/h:value")
    if value is None or not value.get("extension"):
        return exchange.auth.patient_cx
    cx = f"{value.get('extension')}^^^&{value.get('root', '')}&ISO^NH"
    if exchange.auth.patient_cx and not same_patient(cx, exchange.auth.patient_cx):
        exchange.findings.append(server_finding(
            "BENCH-VIHF-PATIENT", f"patientIdentifier {cx} differs from the VIHF resource-id {exchange.auth.patient_cx}",
            hint="the VIHF resource-id must name the patient of the message"))
    return cx


def _patient_person(parent: etree._Element, patient: Patient, full: bool) -> None:
    person = _h(parent, "patientPerson", classCode="PSN", determinerCode="INSTANCE")
    traits = patient.traits or {}
    name = _h(person, "name")
    if traits.get("prefix"):
        _h(name, "prefix", traits["prefix"])
    _h(name, "given", patient.given_name)
    _h(name, "family", traits.get("used_name") or patient.family_name, qualifier="SP")
    if traits.get("used_name"):
        _h(name, "family", patient.family_name, qualifier="BR")
    for telecom in traits.get("telecoms", []):
        _h(person, "telecom", **telecom)
    if patient.gender:
        _h(person, "administrativeGenderCode", code=patient.gender)
    if patient.birth_date:
        _h(person, "birthTime", value=patient.birth_date)
    if full:
        _h(person, "deceasedInd", value="true" if traits.get("deceased") else "false")
        address = traits.get("address")
        if address:
            addr = _h(person, "addr")
            for key in ("streetAddressLine", "postalCode", "city"):
                if address.get(key):
                    _h(addr, key, address[key])


def _observation(parent: etree._Element, code: str, system: str, value: bool, display: str | None = None) -> None:
    observation = _h(_h(parent, "subjectOf", typeCode="SBJ"), "administrativeObservation",
                     classCode="OBS", moodCode="EVN")
    attrs = {"code": code, "codeSystem": system} | ({"displayName": display} if display else {})
    _h(observation, "code", **attrs)
    observation.append(_bool_value(value))


def _registration(control: etree._Element, exchange: Exchange, patient: Patient, full: bool) -> None:
    event = _h(_h(control, "subject", contextConductionInd="false", typeCode="SUBJ"), "registrationEvent",
               classCode="REG", moodCode="EVN")
    _h(event, "statusCode", code="completed")
    entry = _h(_h(event, "subject1", typeCode="SBJ"), "patient", classCode="PAT")
    if patient.traits.get("ins_c"):
        _h(entry, "id", extension=patient.traits["ins_c"], root=INS_C_OID)
    _h(entry, "id", extension=patient.ins, root=patient.ins_oid)
    _h(entry, "statusCode", code="active" if patient.dmp_status == DmpStatus.OPEN else "terminated")
    _patient_person(entry, patient, full)
    if full:
        _observation(entry, "OPPOSITION_BRIS_DE_GLACE", "1.2.250.1.213.4.1.2.3",
                     bool(patient.traits.get("opposes_break_glass")), "opposition au mode bris de glace")
        _observation(entry, "OPPOSITION_ACCES_URGENCE", "1.2.250.1.213.4.1.2.3",
                     bool(patient.traits.get("opposes_regulation")), "opposition à l'accès au mode urgence")
    else:
        _observation(entry, "COMPTE_INTERNET_OUVERT", "1.2.250.1.213.4.1.2.9", patient.internet_account)
        _observation(entry, "RATTACHEMENT_ENS", "1.2.250.1.213.4.1.2.3", patient.attached_to_mes,
                     "information de rattachement du DMP à un ENS")
    custodian = _h(_h(event, "custodian", typeCode="CST"), "assignedEntity", classCode="ASSIGNED")
    _h(custodian, "id", root=exchange.settings.dmp_oid)


def _query_ack(control: etree._Element, exchange: Exchange, code: str) -> etree._Element:
    ack = _h(control, "queryAck")
    query_id = _find(exchange.body, ".//h:queryByParameter/h:queryId")
    if query_id is not None:
        _h(ack, "queryId", **{k: v for k, v in query_id.attrib.items() if k in ("root", "extension")})
    _h(ack, "queryResponseCode", code=code)
    return ack


def patient_query(exchange: Exchange) -> Reply:
    """PRPA_IN201307UV02: TD0.2 (TEST_EXST) or TD1.3a (CNSLT_DATA) by reasonCode."""
    reason = _find(exchange.body, ".//h:controlActProcess/h:reasonCode")
    reason_code = reason.get("code", "TEST_EXST") if reason is not None else "TEST_EXST"
    exchange.transaction = "TD1.3a" if reason_code == "CNSLT_DATA" else "TD0.2"
    cx = _requested_patient(exchange)
    patient = exchange.patient(cx)
    dmp = exchange.dmp_state(patient)
    decision = check_dmp_access(exchange.caller, dmp) if exchange.transaction == "TD1.3a" else None
    root = _envelope(exchange, "PRPA_IN201308UV02")
    if patient is not None and exchange.transaction == "TD0.2":
        _attention_line(root, "AUTORISATION", "1.2.250.1.213.4.1.2.6.1", _authorization_value(dmp.authorization))
        _attention_line(root, "STATUT_MT", "1.2.250.1.213.4.1.2.6.3", _bool_value(dmp.attending))
    refused = decision is not None and not decision.allowed and patient is not None
    _acknowledge(root, exchange, "AE" if refused else "AA", decision.code if refused and decision is not None else None)
    control = _h(root, "controlActProcess", classCode="CACT", moodCode="EVN")
    _h(control, "reasonCode", code=reason_code, codeSystem=REASON_SYSTEM, displayName=REASONS.get(reason_code, ""))
    if patient is not None and not refused:
        _registration(control, exchange, patient, full=exchange.transaction == "TD1.3a")
    _query_ack(control, exchange, "OK" if patient is not None and not refused else ("AE" if refused else "NF"))
    exchange.record("existence test" if exchange.transaction == "TD0.2" else "read administrative data",
                    patient or cx, decision)
    outcome = "DMPFound" if patient is not None else "NF"
    if patient is not None and patient.dmp_status == DmpStatus.CLOSED:
        outcome = "DMPClosed"
    return Reply(root, outcome=(decision.code or "AE") if refused and decision is not None else outcome)


def _authorization_value(status: AuthorizationStatus | None) -> etree._Element:
    value = etree.Element(f"{{{HL7}}}value", code=AUTHORIZATION_VALUES[status], codeSystem="1.2.250.1.213.4.1.2.6.2")
    value.set(f"{{{XSI}}}type", "CV")
    return value


def patient_revise(exchange: Exchange) -> Reply:
    """PRPA_IN201314UV02: TD1.3b (MODIF_DATA) or TD1.4 (FERM, statusCode terminated).

    The official response of these transactions is not in the local package: the answer is an HL7 v3
    application acknowledgement (MCCI_IN000002UV01) in the wrapper of the other GDP responses (unverified).
    """
    reason = _find(exchange.body, ".//h:controlActProcess/h:reasonCode")
    closing = reason is not None and reason.get("code") == "FERM"
    exchange.transaction = "TD1.4" if closing else "TD1.3b"
    patient_id = _find(exchange.body, ".//h:registrationEvent/h:subject1/h:patient/h:id")
    cx = (f"{patient_id.get('extension')}^^^&{patient_id.get('root', '')}&ISO^NH"
          if patient_id is not None and patient_id.get("extension") else exchange.auth.patient_cx)
    patient = exchange.patient(cx)
    dmp = exchange.dmp_state(patient)
    decision = check_dmp_access(exchange.caller, dmp, writing=True)
    if decision:
        decision = check_transaction(exchange.caller, exchange.transaction, dmp)
    exchange.record("close DMP" if closing else "modify administrative data", patient or cx, decision)
    root = _envelope(exchange, "MCCI_IN000002UV01")
    if not decision:
        _acknowledge(root, exchange, "AE", decision.code)
        return Reply(root, outcome=decision.code or "AE")
    assert patient is not None
    if closing:
        exchange.store.close_dmp(patient.id)
    else:
        _revise_traits(exchange, patient)
    _acknowledge(root, exchange, "AA")
    return Reply(root)


def _revise_traits(exchange: Exchange, patient: Patient) -> None:
    person = _find(exchange.body, ".//h:registrationEvent/h:subject1/h:patient/h:patientPerson")
    if person is None:
        return
    changes: dict[str, object] = {}
    given = _find(person, "h:name/h:given")
    family = _find(person, "h:name/h:family")
    if given is not None and given.text:
        changes["given_name"] = given.text.strip()
    if family is not None and family.text:
        changes["family_name"] = family.text.strip()
    if changes:
        exchange.store.update_patient(patient.id, **changes)


def pdq_query(exchange: Exchange) -> Reply:
    """PRPA_IN201305UV02 (TD0.5): search on traits, only in régulation or indirect mode."""
    decision = check_transaction(exchange.caller, "TD0.5") if exchange.settings.pdq_regulation_only \
        else allow("TD0.5 open to every mode (pdq_regulation_only is off)")
    params = _find(exchange.body, ".//h:queryByParameter/h:parameterList")

    def text(path: str) -> str | None:
        found = _find(params, path) if params is not None else None
        return found.text.strip() if found is not None and found.text else None

    def attr(path: str, name: str) -> str | None:
        found = _find(params, path) if params is not None else None
        return found.get(name) if found is not None else None

    root = _envelope(exchange, "PRPA_IN201306UV02")
    candidates = [] if not decision else exchange.store.find_patients(
        family_name=text("h:livingSubjectName/h:value/h:family"),
        given_name=text("h:livingSubjectName/h:value/h:given"),
        birth_date=attr("h:livingSubjectBirthTime/h:value", "value"),
        gender=attr("h:livingSubjectAdministrativeGender/h:value", "code"))
    exchange.record("search without INS", None, decision, detail=f"{len(candidates)} candidate(s)")
    _acknowledge(root, exchange, "AA" if decision else "AE", None if decision else decision.code, pdq=True)
    control = _h(root, "controlActProcess", classCode="CACT", moodCode="EVN")
    _typed(control, "code", "CS", code="PRPA_TE201306UV02", codeSystem="2.16.840.1.113883.1.6")
    for patient in candidates:
        event = _h(_h(control, "subject", contextConductionInd="false", typeCode="SUBJ"), "registrationEvent",
                   classCode="REG", moodCode="EVN")
        _h(event, "statusCode", code="active")
        entry = _h(_h(event, "subject1", typeCode="SBJ"), "patient", classCode="PAT")
        _h(entry, "id", extension=patient.ins, root=patient.ins_oid)
        _h(entry, "statusCode", code="active" if patient.dmp_status == DmpStatus.OPEN else "terminated")
        _patient_person(entry, patient, full=False)
        custodian = _h(_h(event, "custodian", typeCode="CST"), "assignedEntity", classCode="ASSIGNED")
        _h(custodian, "id", root=exchange.settings.dmp_oid)
    code = "AE" if not decision else ("OK" if candidates else "NF")
    ack = _query_ack(control, exchange, code)
    for name, value in (("resultTotalQuantity", len(candidates)), ("resultCurrentQuantity", len(candidates)),
                        ("resultRemainingQuantity", 0)):
        _h(ack, name, value=str(value))
    query = _find(exchange.body, ".//h:queryByParameter")
    if query is not None:
        control.append(etree.fromstring(etree.tostring(query)))
    return Reply(root, outcome=code if decision else decision.code or "AE")
