"""ebRIM 3.0 XML ⇄ XDS model (:mod:`conformance.xds.model`).

:func:`parse_registry_object_list` reads a ``rim:RegistryObjectList`` (or any element holding rim objects);
:func:`registry_object_list_element` writes one. Parsing is tolerant — it never raises on odd metadata, it
keeps what it does not model in ``extra_*`` fields — because judging metadata is the rules' job.
Round-trip property: ``parse(serialise(model)) == model``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

from lxml import etree

from conformance.xds.constants import EXTERNAL_ID_NAMES, RIM, Node, ObjectType, Scheme
from conformance.xds.model import (
    Association,
    Author,
    Classification,
    Code,
    DocumentEntry,
    ExternalIdentifier,
    Folder,
    ObjectRef,
    RegistryObject,
    RegistryObjectList,
    Slot,
    SubmissionSet,
)
from conformance.xml import xpath_of

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _q(local: str) -> str:
    return f"{{{RIM}}}{local}"


# --- DocumentEntry attribute mapping, shared by the parser and the serialiser -------------------------------
# (field, slot name) for single-valued slots, in the order the official examples write them.
_DE_SINGLE_SLOTS = (
    ("creation_time", "creationTime"), ("hash", "hash"), ("language_code", "languageCode"),
    ("legal_authenticator", "legalAuthenticator"), ("repository_unique_id", "repositoryUniqueId"),
    ("service_start_time", "serviceStartTime"), ("service_stop_time", "serviceStopTime"), ("size", "size"),
    ("source_patient_id", "sourcePatientId"), ("uri", "URI"),
)
_DE_LIST_SLOTS = (("source_patient_info", "sourcePatientInfo"), ("reference_ids", "urn:ihe:iti:xds:2013:referenceIdList"))
_DE_SINGLE_CODES = (
    ("class_code", Scheme.DE_CLASS_CODE), ("type_code", Scheme.DE_TYPE_CODE),
    ("format_code", Scheme.DE_FORMAT_CODE), ("healthcare_facility_type_code", Scheme.DE_HEALTHCARE_FACILITY_TYPE_CODE),
    ("practice_setting_code", Scheme.DE_PRACTICE_SETTING_CODE),
)
_DE_LIST_CODES = (("confidentiality_codes", Scheme.DE_CONFIDENTIALITY_CODE), ("event_codes", Scheme.DE_EVENT_CODE))
_AUTHOR_SLOTS = (("person", "authorPerson"), ("institutions", "authorInstitution"), ("roles", "authorRole"),
                 ("specialties", "authorSpecialty"), ("telecoms", "authorTelecommunication"))


# --- parsing --------------------------------------------------------------------------------------------------

def _localized(element: etree._Element, local: str) -> str | None:
    string = element.find(f"{_q(local)}/{_q('LocalizedString')}")
    return string.get("value") if string is not None else None


def _slots(element: etree._Element) -> list[Slot]:
    return [Slot(s.get("name", ""), [v.text or "" for v in s.iterfind(f"{_q('ValueList')}/{_q('Value')}")])
            for s in element.iterfind(_q("Slot"))]


def _code(classification: etree._Element) -> Code:
    scheme = next((s.values[0] for s in _slots(classification) if s.name == "codingScheme" and s.values), None)
    return Code(classification.get("nodeRepresentation", ""), scheme, _localized(classification, "Name"))


def _author(classification: etree._Element) -> Author:
    author = Author()
    slots = {s.name: s.values for s in _slots(classification)}
    for attribute, name in _AUTHOR_SLOTS:
        values = slots.get(name, [])
        if attribute == "person":
            author.person = values[0] if values else None
        else:
            setattr(author, attribute, list(values))
    return author


def _classification(element: etree._Element) -> Classification:
    return Classification(element.get("classificationScheme"), element.get("nodeRepresentation"),
                          element.get("classificationNode"), _localized(element, "Name"), _slots(element))


def _fill_common(obj: RegistryObject, element: etree._Element) -> None:
    obj.lid = element.get("lid")
    obj.status = element.get("status")
    obj.home = element.get("home")
    version = element.find(_q("VersionInfo"))
    obj.version = version.get("versionName") if version is not None else None
    obj.location = xpath_of(element)
    obj.line = element.sourceline
    obj.element = element


def _split(element: etree._Element, slot_names: Iterable[str], schemes: Iterable[str],
           id_schemes: Iterable[str]) -> tuple[dict[str, list[str]], dict[str, list[etree._Element]],
                                               dict[str, str]]:
    """Known slots/classifications/identifiers of ``element`` by name/scheme; unknown ones go to ``obj.extra_*``."""
    known_slots = set(slot_names)
    slots: dict[str, list[str]] = {}
    for slot in _slots(element):
        if slot.name in known_slots and slot.name not in slots:
            slots[slot.name] = slot.values
    classes: dict[str, list[etree._Element]] = {}
    known_schemes = set(schemes)
    for classification in element.iterfind(_q("Classification")):
        scheme = classification.get("classificationScheme", "")
        if scheme in known_schemes:
            classes.setdefault(scheme, []).append(classification)
    ids: dict[str, str] = {}
    known_ids = set(id_schemes)
    for identifier in element.iterfind(_q("ExternalIdentifier")):
        scheme = identifier.get("identificationScheme", "")
        if scheme in known_ids and scheme not in ids:
            ids[scheme] = identifier.get("value", "")
    return slots, classes, ids


def _extras(obj: RegistryObject, element: etree._Element, used_slots: dict[str, list[str]],
            used_schemes: Iterable[str], used_ids: dict[str, str], node: str | None = None) -> None:
    seen: set[str] = set()
    for slot in _slots(element):
        if slot.name in used_slots and slot.name not in seen:
            seen.add(slot.name)
            continue
        obj.extra_slots.append(slot)
    schemes = set(used_schemes)
    for classification in element.iterfind(_q("Classification")):
        if classification.get("classificationScheme", "") in schemes:
            continue
        if node is not None and classification.get("classificationNode") == node:
            continue
        obj.extra_classifications.append(_classification(classification))
    seen_ids: set[str] = set()
    for identifier in element.iterfind(_q("ExternalIdentifier")):
        scheme = identifier.get("identificationScheme", "")
        if scheme in used_ids and scheme not in seen_ids:
            seen_ids.add(scheme)
            continue
        obj.extra_external_identifiers.append(
            ExternalIdentifier(scheme, identifier.get("value", ""), _localized(identifier, "Name")))


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def parse_document_entry(element: etree._Element) -> DocumentEntry:
    entry = DocumentEntry(id=element.get("id", ""), object_type=element.get("objectType"),
                          mime_type=element.get("mimeType"))
    _fill_common(entry, element)
    slot_names = [n for _, n in _DE_SINGLE_SLOTS] + [n for _, n in _DE_LIST_SLOTS]
    schemes = [s for _, s in _DE_SINGLE_CODES] + [s for _, s in _DE_LIST_CODES] + [Scheme.DE_AUTHOR]
    ids = (Scheme.DE_PATIENT_ID, Scheme.DE_UNIQUE_ID)
    slots, classes, identifiers = _split(element, slot_names, schemes, ids)
    for attribute, name in _DE_SINGLE_SLOTS:
        setattr(entry, attribute, _first(slots.get(name)))
    for attribute, name in _DE_LIST_SLOTS:
        setattr(entry, attribute, list(slots.get(name, [])))
    for attribute, scheme in _DE_SINGLE_CODES:
        found = classes.get(scheme, [])
        setattr(entry, attribute, _code(found[0]) if found else None)
        # a second classCode (etc.) is kept as an extra classification, so rules can flag the cardinality
        entry.extra_classifications.extend(_classification(c) for c in found[1:])
    for attribute, scheme in _DE_LIST_CODES:
        setattr(entry, attribute, [_code(c) for c in classes.get(scheme, [])])
    entry.authors = [_author(c) for c in classes.get(Scheme.DE_AUTHOR, [])]
    entry.patient_id = identifiers.get(Scheme.DE_PATIENT_ID)
    entry.unique_id = identifiers.get(Scheme.DE_UNIQUE_ID)
    entry.title = _localized(element, "Name")
    entry.comments = _localized(element, "Description")
    _extras(entry, element, slots, schemes, identifiers)
    return entry


_SS_SCHEMES = (Scheme.SS_AUTHOR, Scheme.SS_CONTENT_TYPE_CODE)
_SS_IDS = (Scheme.SS_PATIENT_ID, Scheme.SS_SOURCE_ID, Scheme.SS_UNIQUE_ID)


def parse_submission_set(element: etree._Element) -> SubmissionSet:
    sset = SubmissionSet(id=element.get("id", ""))
    _fill_common(sset, element)
    slots, classes, identifiers = _split(element, ("submissionTime", "intendedRecipient"), _SS_SCHEMES, _SS_IDS)
    sset.submission_time = _first(slots.get("submissionTime"))
    sset.intended_recipients = list(slots.get("intendedRecipient", []))
    content_types = classes.get(Scheme.SS_CONTENT_TYPE_CODE, [])
    sset.content_type_code = _code(content_types[0]) if content_types else None
    sset.extra_classifications.extend(_classification(c) for c in content_types[1:])
    sset.authors = [_author(c) for c in classes.get(Scheme.SS_AUTHOR, [])]
    sset.patient_id = identifiers.get(Scheme.SS_PATIENT_ID)
    sset.source_id = identifiers.get(Scheme.SS_SOURCE_ID)
    sset.unique_id = identifiers.get(Scheme.SS_UNIQUE_ID)
    sset.title = _localized(element, "Name")
    sset.comments = _localized(element, "Description")
    _extras(sset, element, slots, _SS_SCHEMES, identifiers, Node.SUBMISSION_SET)
    return sset


def parse_folder(element: etree._Element) -> Folder:
    folder = Folder(id=element.get("id", ""))
    _fill_common(folder, element)
    ids = (Scheme.FOLDER_PATIENT_ID, Scheme.FOLDER_UNIQUE_ID)
    slots, classes, identifiers = _split(element, ("lastUpdateTime",), (Scheme.FOLDER_CODE_LIST,), ids)
    folder.last_update_time = _first(slots.get("lastUpdateTime"))
    folder.codes = [_code(c) for c in classes.get(Scheme.FOLDER_CODE_LIST, [])]
    folder.patient_id = identifiers.get(Scheme.FOLDER_PATIENT_ID)
    folder.unique_id = identifiers.get(Scheme.FOLDER_UNIQUE_ID)
    folder.title = _localized(element, "Name")
    folder.comments = _localized(element, "Description")
    _extras(folder, element, slots, (Scheme.FOLDER_CODE_LIST,), identifiers, Node.FOLDER)
    return folder


def parse_association(element: etree._Element) -> Association:
    association = Association(id=element.get("id", ""), type=element.get("associationType", ""),
                              source=element.get("sourceObject", ""), target=element.get("targetObject", ""))
    _fill_common(association, element)
    _extras(association, element, {}, (), {})
    return association


def _package_node(package: etree._Element, top_level: dict[str, str]) -> str:
    for classification in package.iterfind(_q("Classification")):
        node = classification.get("classificationNode")
        if node in (Node.SUBMISSION_SET, Node.FOLDER):
            return node
    node = top_level.get(package.get("id", ""))
    if node:
        return node
    schemes = {i.get("identificationScheme") for i in package.iterfind(_q("ExternalIdentifier"))}
    return Node.FOLDER if schemes & {Scheme.FOLDER_UNIQUE_ID, Scheme.FOLDER_PATIENT_ID} else Node.SUBMISSION_SET


def parse_registry_object_list(element: etree._Element) -> RegistryObjectList:
    """Read the rim objects that are children of ``element`` (a RegistryObjectList or a response element)."""
    result = RegistryObjectList(element=element)
    # IHE allows the SubmissionSet node classification as a top-level Classification
    top_level = {c.get("classifiedObject", ""): c.get("classificationNode", "")
                 for c in element.iterfind(_q("Classification"))}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag == _q("ExtrinsicObject"):
            result.document_entries.append(parse_document_entry(child))
        elif child.tag == _q("RegistryPackage"):
            if _package_node(child, top_level) == Node.FOLDER:
                result.folders.append(parse_folder(child))
            else:
                result.submission_sets.append(parse_submission_set(child))
        elif child.tag == _q("Association"):
            result.associations.append(parse_association(child))
        elif child.tag == _q("ObjectRef"):
            result.object_refs.append(ObjectRef(child.get("id", ""), child.get("home")))
    return result


# --- serialising ----------------------------------------------------------------------------------------------

def _sub(parent: etree._Element, local: str, **attrib: str | None) -> etree._Element:
    return etree.SubElement(parent, _q(local), {k: v for k, v in attrib.items() if v is not None})


def _add_slot(parent: etree._Element, name: str, values: Iterable[str]) -> None:
    value_list = _sub(_sub(parent, "Slot", name=name), "ValueList")
    for value in values:
        _sub(value_list, "Value").text = value


def _add_localized(parent: etree._Element, local: str, value: str | None) -> None:
    if value is not None:
        string = _sub(_sub(parent, local), "LocalizedString", charset="UTF-8", value=value)
        string.set(XML_LANG, "fr-FR")


class _Ids:
    """Deterministic ids for the Classifications/ExternalIdentifiers of one object (stable XML for tests)."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.count = 0

    def __call__(self) -> str:
        self.count += 1
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{self.owner}#{self.count}')}"


def _add_classification(parent: etree._Element, owner: str, new_id: Callable[[], str], *, scheme: str | None,
                        node_representation: str | None, name: str | None = None,
                        slots: Iterable[Slot] = (), node: str | None = None) -> None:
    element = _sub(parent, "Classification", classificationScheme=scheme, classificationNode=node,
                   classifiedObject=owner, id=new_id(), nodeRepresentation=node_representation,
                   objectType=ObjectType.CLASSIFICATION)
    for slot in slots:
        _add_slot(element, slot.name, slot.values)
    _add_localized(element, "Name", name)


def _add_code(parent: etree._Element, owner: str, new_id: Callable[[], str], scheme: str, code: Code) -> None:
    slots = [Slot("codingScheme", [code.scheme])] if code.scheme is not None else []
    _add_classification(parent, owner, new_id, scheme=scheme, node_representation=code.code, name=code.display,
                        slots=slots)


def _add_author(parent: etree._Element, owner: str, new_id: Callable[[], str], scheme: str, author: Author) -> None:
    slots: list[Slot] = []
    for attribute, name in _AUTHOR_SLOTS:
        value = getattr(author, attribute)
        values = ([value] if value is not None else []) if attribute == "person" else value
        if values:
            slots.append(Slot(name, list(values)))
    _add_classification(parent, owner, new_id, scheme=scheme, node_representation="", slots=slots)


def _add_external_id(parent: etree._Element, owner: str, new_id: Callable[[], str], identifier: ExternalIdentifier,
                     ) -> None:
    element = _sub(parent, "ExternalIdentifier", id=new_id(), identificationScheme=identifier.scheme,
                   objectType=ObjectType.EXTERNAL_IDENTIFIER, registryObject=owner, value=identifier.value)
    _add_localized(element, "Name", identifier.name)


def _open(parent: etree._Element, local: str, obj: RegistryObject, **attrib: str | None) -> etree._Element:
    return _sub(parent, local, id=obj.id, home=obj.home, lid=obj.lid, status=obj.status, **attrib)


def _close(element: etree._Element, obj: RegistryObject, new_id: Callable[[], str], *, slots: list[Slot],
           title: str | None, comments: str | None, classifications: Callable[[], None],
           identifiers: list[ExternalIdentifier]) -> None:
    """Write the RegistryObject content in the XSD order: Slot*, Name, Description, VersionInfo,
    Classification*, ExternalIdentifier*."""
    for slot in [*slots, *obj.extra_slots]:
        _add_slot(element, slot.name, slot.values)
    _add_localized(element, "Name", title)
    _add_localized(element, "Description", comments)
    if obj.version is not None:
        _sub(element, "VersionInfo", versionName=obj.version)
    classifications()
    for extra in obj.extra_classifications:
        _add_classification(element, obj.id, new_id, scheme=extra.scheme, node_representation=extra.node_representation,
                            name=extra.name, slots=extra.slots, node=extra.classification_node)
    for identifier in [*identifiers, *obj.extra_external_identifiers]:
        _add_external_id(element, obj.id, new_id, identifier)


def _known_ids(pairs: Iterable[tuple[str, str | None]]) -> list[ExternalIdentifier]:
    return [ExternalIdentifier(scheme, value, EXTERNAL_ID_NAMES[scheme]) for scheme, value in pairs
            if value is not None]


def document_entry_element(parent: etree._Element, entry: DocumentEntry) -> etree._Element:
    element = _open(parent, "ExtrinsicObject", entry, mimeType=entry.mime_type, objectType=entry.object_type)
    new_id = _Ids(entry.id)
    slots = [Slot(name, [getattr(entry, attribute)]) for attribute, name in _DE_SINGLE_SLOTS
             if getattr(entry, attribute) is not None]
    slots += [Slot(name, list(getattr(entry, attribute))) for attribute, name in _DE_LIST_SLOTS
              if getattr(entry, attribute)]

    def classifications() -> None:
        for author in entry.authors:
            _add_author(element, entry.id, new_id, Scheme.DE_AUTHOR, author)
        for attribute, scheme in _DE_SINGLE_CODES:
            code = getattr(entry, attribute)
            if code is not None:
                _add_code(element, entry.id, new_id, scheme, code)
        for attribute, scheme in _DE_LIST_CODES:
            for code in getattr(entry, attribute):
                _add_code(element, entry.id, new_id, scheme, code)

    _close(element, entry, new_id, slots=slots, title=entry.title, comments=entry.comments,
           classifications=classifications,
           identifiers=_known_ids(((Scheme.DE_PATIENT_ID, entry.patient_id), (Scheme.DE_UNIQUE_ID, entry.unique_id))))
    return element


def submission_set_element(parent: etree._Element, sset: SubmissionSet) -> etree._Element:
    element = _open(parent, "RegistryPackage", sset, objectType=ObjectType.REGISTRY_PACKAGE)
    new_id = _Ids(sset.id)
    slots = [Slot("submissionTime", [sset.submission_time])] if sset.submission_time is not None else []
    if sset.intended_recipients:
        slots.append(Slot("intendedRecipient", list(sset.intended_recipients)))

    def classifications() -> None:
        for author in sset.authors:
            _add_author(element, sset.id, new_id, Scheme.SS_AUTHOR, author)
        if sset.content_type_code is not None:
            _add_code(element, sset.id, new_id, Scheme.SS_CONTENT_TYPE_CODE, sset.content_type_code)
        _add_classification(element, sset.id, new_id, scheme=None, node_representation=None, node=Node.SUBMISSION_SET)

    _close(element, sset, new_id, slots=slots, title=sset.title, comments=sset.comments,
           classifications=classifications,
           identifiers=_known_ids(((Scheme.SS_PATIENT_ID, sset.patient_id), (Scheme.SS_SOURCE_ID, sset.source_id),
                                   (Scheme.SS_UNIQUE_ID, sset.unique_id))))
    return element


def folder_element(parent: etree._Element, folder: Folder) -> etree._Element:
    element = _open(parent, "RegistryPackage", folder, objectType=ObjectType.REGISTRY_PACKAGE)
    new_id = _Ids(folder.id)
    slots = [Slot("lastUpdateTime", [folder.last_update_time])] if folder.last_update_time is not None else []

    def classifications() -> None:
        for code in folder.codes:
            _add_code(element, folder.id, new_id, Scheme.FOLDER_CODE_LIST, code)
        _add_classification(element, folder.id, new_id, scheme=None, node_representation=None, node=Node.FOLDER)

    _close(element, folder, new_id, slots=slots, title=folder.title, comments=folder.comments,
           classifications=classifications,
           identifiers=_known_ids(((Scheme.FOLDER_PATIENT_ID, folder.patient_id),
                                   (Scheme.FOLDER_UNIQUE_ID, folder.unique_id))))
    return element


def association_element(parent: etree._Element, association: Association) -> etree._Element:
    element = _open(parent, "Association", association, associationType=association.type,
                    objectType=ObjectType.ASSOCIATION, sourceObject=association.source,
                    targetObject=association.target)
    _close(element, association, _Ids(association.id), slots=[], title=None, comments=None,
           classifications=lambda: None, identifiers=[])
    return element


def add_registry_objects(parent: etree._Element, objects: RegistryObjectList) -> etree._Element:
    """Append the objects to ``parent`` (a RegistryObjectList): packages, entries, associations, refs."""
    for sset in objects.submission_sets:
        submission_set_element(parent, sset)
    for folder in objects.folders:
        folder_element(parent, folder)
    for entry in objects.document_entries:
        document_entry_element(parent, entry)
    for association in objects.associations:
        association_element(parent, association)
    for ref in objects.object_refs:
        _sub(parent, "ObjectRef", id=ref.id, home=ref.home)
    return parent


def registry_object_list_element(objects: RegistryObjectList) -> etree._Element:
    return add_registry_objects(etree.Element(_q("RegistryObjectList"), nsmap={"rim": RIM}), objects)
