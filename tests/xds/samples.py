"""A small valid DMP submission built with the builders (our own test data, not the official examples)."""

from __future__ import annotations

from datetime import UTC, datetime

from conformance.xds import Code, ProvideAndRegisterRequest, builders

INS = "279035121518989"
PATIENT_ID = f"{INS}^^^&1.2.250.1.213.1.4.10&ISO^NH"

CDA = f"""<ClinicalDocument xmlns="urn:hl7-org:v3">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <id root="1.2.250.1.999.1.1.4242.4.1001"/>
  <code code="11488-4" codeSystem="2.16.840.1.113883.6.1" displayName="Compte rendu de consultation"/>
  <title>Consultation du 21 février</title>
  <effectiveTime value="20240221133445+0100"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25" displayName="Normal"/>
  <languageCode code="fr-FR"/>
  <recordTarget><patientRole>
    <id root="1.2.250.1.213.1.4.10" extension="{INS}"/>
    <id root="1.2.250.1.999.1.1.4242.2" extension="IPP0042"/>
    <patient><name><given>JEANNE</given><family qualifier="BR">MARTIN</family></name>
      <administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/><birthTime value="19790321"/></patient>
  </patientRole></recordTarget>
  <author><time value="20240221133445+0100"/><assignedAuthor>
    <id root="1.2.250.1.71.4.2.1" extension="810000000001"/>
    <code code="G15_10/SM26" codeSystem="1.2.250.1.213.1.1.4.5" displayName="Médecin - Médecine générale"/>
    <assignedPerson><name><given>PAUL</given><family>DURAND</family></name></assignedPerson>
    <representedOrganization><id root="1.2.250.1.71.4.2.2" extension="1810000000001"/>
      <name>CABINET DURAND</name></representedOrganization>
  </assignedAuthor></author>
  <legalAuthenticator><time value="20240221133445+0100"/><signatureCode code="S"/><assignedEntity>
    <id root="1.2.250.1.71.4.2.1" extension="810000000001"/>
    <assignedPerson><name><given>PAUL</given><family>DURAND</family></name></assignedPerson>
  </assignedEntity></legalAuthenticator>
  <documentationOf><serviceEvent>
    <code code="GLQP012" codeSystem="1.2.250.1.213.2.5" displayName="Mesure de la capacité vitale"/>
    <effectiveTime><low value="20240221120000+0100"/><high value="20240221123000+0100"/></effectiveTime>
  </serviceEvent></documentationOf>
  <componentOf><encompassingEncounter><effectiveTime value="20240221"/><location><healthCareFacility>
    <code code="SA07" codeSystem="1.2.250.1.71.4.2.4" displayName="Cabinet individuel"/>
  </healthCareFacility></location></encompassingEncounter></componentOf>
  <component><nonXMLBody><text mediaType="text/plain" representation="B64">Qm9uam91cg==</text></nonXMLBody></component>
</ClinicalDocument>
""".encode()

CLASS_CODE = Code("10", "1.2.250.1.213.1.1.4.1", "Compte rendu")
FORMAT_CODE = Code("urn:ihe:iti:xds-sd:text:2008", "1.3.6.1.4.1.19376.1.2.3", "Document à corps non structuré")
PRACTICE_SETTING = Code("ETABLISSEMENT", "1.2.250.1.213.1.1.4.9", "Etablissement de santé")
CONTENT_TYPE = Code("04", "1.2.250.1.213.2.2", "Hospitalisation de jour")
SOURCE_ID = "1.2.250.1.999.1.1.4242"
NOW = datetime(2024, 2, 21, 14, 0, tzinfo=UTC)


def sample_submission(*extra_confidentiality: Code,
                      signer: builders.SignatureHook = builders.placeholder_signature) -> ProvideAndRegisterRequest:
    """TD2.1 submission of :data:`CDA`: SubmissionSet, one DocumentEntry, the signature entry."""
    entry = builders.document_entry_from_cda(CDA, entry_id="Doc01", class_code=CLASS_CODE, format_code=FORMAT_CODE,
                                             practice_setting_code=PRACTICE_SETTING,
                                             extra_confidentiality=extra_confidentiality)
    submission_set = builders.new_submission_set(patient_id=entry.patient_id or "", author=entry.authors[0],
                                                 content_type_code=CONTENT_TYPE, source_id=SOURCE_ID,
                                                 title="Consultation", unique_id=f"{SOURCE_ID}.1.7", now=NOW)
    return builders.submission(submission_set, [(entry, CDA)], signer=signer)


REPLACED_ENTRY_UUID = "urn:uuid:3f2504e0-4f89-11d3-9a0c-0305e82c3301"
REPLACEMENT_CDA = CDA.replace(b"1.2.250.1.999.1.1.4242.4.1001", b"1.2.250.1.999.1.1.4242.4.1003").replace(
    b"  <componentOf>",
    b'  <relatedDocument typeCode="RPLC"><parentDocument><id root="1.2.250.1.999.1.1.4242.4.1001"/>'
    b"</parentDocument></relatedDocument>\n  <componentOf>")


def replacement_submission() -> ProvideAndRegisterRequest:
    """TD2.1b: a new version of :data:`CDA` replacing the registry entry :data:`REPLACED_ENTRY_UUID`."""
    entry = builders.document_entry_from_cda(REPLACEMENT_CDA, entry_id="Doc02", class_code=CLASS_CODE,
                                             format_code=FORMAT_CODE, practice_setting_code=PRACTICE_SETTING)
    submission_set = builders.new_submission_set(patient_id=entry.patient_id or "", author=entry.authors[0],
                                                 content_type_code=CONTENT_TYPE, source_id=SOURCE_ID,
                                                 title="Consultation (remplacement)", unique_id=f"{SOURCE_ID}.1.8",
                                                 now=NOW)
    request = builders.submission(submission_set, [(entry, REPLACEMENT_CDA)])
    request.metadata.associations.append(builders.replacement_association("Doc02", REPLACED_ENTRY_UUID))
    return request
