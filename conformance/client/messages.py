"""Bodies of the non-XDS DMP requests, in the shape of the official examples: HL7 v3 (TD0.2, TD1.3a, TD1.3b,
TD1.4, TD0.5) and the DMP-specific SOAP services (TD0.3, TD0.4, TD1.6). XDS bodies come from
:mod:`conformance.xds.builders`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from lxml import etree

from conformance.xml.builder import hl7_element as _h

HL7 = "urn:hl7-org:v3"
HABILITATIONS = "urn:si-dmp-habilitations"
PATIENTS = "urn:si-dmp-patients"
DMP_DEVICE = "1.2.250.1.213.4.1.1.1"
REASON_SYSTEM = "1.2.250.1.213.1.1.4.11"


def _wrapper(interaction: str, lps_oid: str, lps_name: str) -> etree._Element:
    root = _h(None, interaction, ITSVersion="XML_1.0")
    _h(root, "id", root=f"{lps_oid}.1.1", extension=str(uuid.uuid4()))
    _h(root, "creationTime", value=datetime.now(UTC).strftime("%Y%m%d%H%M%S"))
    _h(root, "interactionId", root="2.16.840.1.113883.1.6", extension=interaction)
    _h(root, "processingCode", code="D")
    _h(root, "processingModeCode", code="T")
    _h(root, "acceptAckCode", code="AL")
    for role, type_code, device_id, name in (("receiver", "RCV", DMP_DEVICE, "DMP"),
                                             ("sender", "SND", lps_oid, lps_name)):
        device = _h(_h(root, role, typeCode=type_code), "device", classCode="DEV", determinerCode="INSTANCE")
        _h(device, "id", root=device_id)
        _h(device, "softwareName", name)
    return root


def _query(control: etree._Element, lps_oid: str) -> etree._Element:
    query = _h(control, "queryByParameter")
    _h(query, "queryId", root=f"{lps_oid}.2", extension=str(uuid.uuid4()))
    _h(query, "statusCode", code="new")
    return _h(query, "parameterList")


def patient_query(ins: str, ins_oid: str, *, reason: str = "TEST_EXST", lps_oid: str = "1.3.6.1.4.1.48364",
                  lps_name: str = "DMP CONFORMANCE BENCH") -> etree._Element:
    """PRPA_IN201307UV02: TD0.2 (reason TEST_EXST) or TD1.3a (CNSLT_DATA)."""
    root = _wrapper("PRPA_IN201307UV02", lps_oid, lps_name)
    control = _h(root, "controlActProcess", classCode="CACT", moodCode="EVN")
    _h(control, "reasonCode", code=reason, codeSystem=REASON_SYSTEM)
    identifier = _h(_query(control, lps_oid), "patientIdentifier")
    _h(identifier, "value", root=ins_oid, extension=ins)
    _h(identifier, "semanticsText", "Patient.id")
    return root


def patient_revise(ins: str, ins_oid: str, *, close: bool = False, family_name: str | None = None,
                   given_name: str | None = None, lps_oid: str = "1.3.6.1.4.1.48364",
                   lps_name: str = "DMP CONFORMANCE BENCH") -> etree._Element:
    """PRPA_IN201314UV02: TD1.3b (MODIF_DATA, new traits) or TD1.4 (FERM, statusCode terminated)."""
    root = _wrapper("PRPA_IN201314UV02", lps_oid, lps_name)
    control = _h(root, "controlActProcess", classCode="CACT", moodCode="EVN")
    _h(control, "reasonCode", code="FERM" if close else "MODIF_DATA", codeSystem=REASON_SYSTEM)
    event = _h(_h(control, "subject", typeCode="SUBJ"), "registrationEvent", classCode="REG", moodCode="EVN")
    _h(event, "statusCode", code="active")
    patient = _h(_h(event, "subject1", typeCode="SBJ"), "patient", classCode="PAT")
    _h(patient, "id", root=ins_oid, extension=ins)
    _h(patient, "statusCode", code="terminated" if close else "active")
    if family_name or given_name:
        name = _h(_h(patient, "patientPerson", classCode="PSN", determinerCode="INSTANCE"), "name")
        if given_name:
            _h(name, "given", given_name)
        if family_name:
            _h(name, "family", family_name)
    return root


def pdq_query(*, family_name: str | None = None, given_name: str | None = None, birth_date: str | None = None,
              gender: str | None = None, lps_oid: str = "1.3.6.1.4.1.48364",
              lps_name: str = "DMP CONFORMANCE BENCH") -> etree._Element:
    """PRPA_IN201305UV02 (TD0.5): search on traits."""
    root = _wrapper("PRPA_IN201305UV02", lps_oid, lps_name)
    control = _h(root, "controlActProcess", classCode="CACT", moodCode="EVN")
    _h(control, "code", code="PRPA_TE201305UV02", codeSystem="2.16.840.1.113883.1.6")
    params = _query(control, lps_oid)
    if gender:
        item = _h(params, "livingSubjectAdministrativeGender")
        _h(item, "value", code=gender)
        _h(item, "semanticsText", "LivingSubject.administrativeGender")
    if birth_date:
        item = _h(params, "livingSubjectBirthTime")
        _h(item, "value", value=birth_date)
        _h(item, "semanticsText", "LivingSubject.birthTime")
    if family_name or given_name:
        item = _h(params, "livingSubjectName")
        value = _h(item, "value")
        if family_name:
            _h(value, "family", family_name)
        if given_name:
            _h(value, "given", given_name)
        _h(item, "semanticsText", "LivingSubject.name")
    return root


def _dmp(ns: str, operation: str, **fields: str | None) -> etree._Element:
    element = etree.Element(f"{{{ns}}}{operation}", nsmap={None: ns})
    for name, value in fields.items():
        if value is not None:
            etree.SubElement(element, f"{{{ns}}}{name}").text = value
    return element


def set_authorization(action: str = "AJOUT", role: str | None = None) -> etree._Element:
    """TD0.3: AJOUT or SUPPRESSION of the caller's authorization, optionally as MEDECIN_TRAITANT."""
    return _dmp(HABILITATIONS, "setAuthorization", action=action, role=role)


def list_authorizations(mode: str = "TOUTE") -> etree._Element:
    """TD1.6: ACTIVE, INTERDITE or TOUTE."""
    return _dmp(HABILITATIONS, "listAuthorizationByPatient", mode=mode)


def patient_list(start_date: str = "20100101000000", date_type: str = "LASTDOC") -> etree._Element:
    """TD0.4: the DMPs the caller is authorized on, changed since ``start_date``."""
    return _dmp(PATIENTS, "patientList", startDate=start_date, dateType=date_type)
