"""The names, titles and ids FHIR searches match, read from what the store keeps: the facts a FHIR feed stored
in the metadata JSON, else the ebRIM of an ITI-41 feed (its XCN authors). They fill the ``search_strings``
table at registration and when the schema migration backfills it.

Why the ebRIM is read here: an ITI-41 entry's author names exist nowhere else, and the store must index them
whoever fed the entry (the SOAP and the FHIR services build their entries differently).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from lxml import etree

from conformance.store.schema import SearchString
from conformance.store.types import SearchKind
from conformance.xds.ebrim import parse_document_entry, parse_submission_set

REFERENCE_ID_LIST = "urn:ihe:iti:xds:2013:referenceIdList"


def folded(text: str) -> str:
    """FHIR string search compares without case and accents."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def xcn_person(xcn: str | None) -> dict[str, Any] | None:
    """An XCN (``id^family^given^…``) as the facts a FHIR feed keeps of a person (ids, family, given)."""
    parts = (xcn or "").split("^")
    if not any(parts[:3]):
        return None
    return {"type": "Practitioner", "identifiers": [parts[0]] if parts[0] else [],
            "family": [parts[1]] if len(parts) > 1 and parts[1] else [],
            "given": [parts[2]] if len(parts) > 2 and parts[2] else []}


def reference_ids(ebrim: str | None) -> list[str]:
    """The referenceIdList CXi values of an entry: its ebRIM slot, which the ITI-41 and the FHIR feeds both write.
    The ebRIM is parsed only when it names the slot, as every DocumentReference answered reads it."""
    if not ebrim or REFERENCE_ID_LIST not in ebrim:
        return []
    return list(parse_document_entry(etree.fromstring(ebrim)).reference_ids)


def _author_names(metadata: dict[str, Any], ebrim: str | None) -> list[dict[str, list[str]]]:
    """The authors' names: kept at a FHIR feed, else read from the ebRIM of an ITI-41 one."""
    if "authorNames" in metadata or not ebrim:
        return list(metadata.get("authorNames", []))
    people = [xcn_person(a.person) for a in parse_document_entry(etree.fromstring(ebrim)).authors]
    return [{"family": p["family"], "given": p["given"]} for p in people if p]


def set_facts(metadata: dict[str, Any], ebrim: str | None) -> dict[str, Any]:
    """Title, source and authorOrg of a SubmissionSet: kept at a FHIR feed, read from the ebRIM of an ITI-41
    one (its first author, as the DMP's SubmissionSets carry one)."""
    if "source" in metadata or not ebrim:
        return metadata
    sset = parse_submission_set(etree.fromstring(ebrim))
    author = sset.authors[0] if sset.authors else None
    facts: dict[str, Any] = {"title": sset.title, "source": xcn_person(author.person if author else None)}
    institutions = [i.split("^") for i in (author.institutions if author else [])]
    if institutions:
        facts["authorOrg"] = {"identifiers": [p[9] for p in institutions if len(p) > 9 and p[9]],
                              "names": [p[0] for p in institutions if p[0]]}
    return facts


def _rows(owner: str, values: list[tuple[SearchKind, int, str]]) -> list[SearchString]:
    return [SearchString(owner=owner, kind=kind.value, party=party, value=value, folded=folded(value))
            for kind, party, value in values if value]


def entry_strings(owner: str, metadata: dict[str, Any], ebrim: str | None) -> list[SearchString]:
    """author.given / author.family of a DocumentEntry, one party per author, and its referenceIdList."""
    values = [(kind, party, name) for party, person in enumerate(_author_names(metadata, ebrim))
              for kind, key in ((SearchKind.AUTHOR_FAMILY, "family"), (SearchKind.AUTHOR_GIVEN, "given"))
              for name in person.get(key) or []]
    return _rows(owner, [*values, *((SearchKind.RELATED, 0, cx) for cx in reference_ids(ebrim))])


def set_strings(owner: str, metadata: dict[str, Any], ebrim: str | None) -> list[SearchString]:
    """title, source (ids and names) and authorOrg (ids) of a SubmissionSet."""
    facts = set_facts(metadata, ebrim)
    source = facts.get("source") or {}
    values = [(SearchKind.TITLE, 0, facts.get("title") or "")]
    values += [(kind, 0, value) for kind, key in ((SearchKind.SOURCE, "identifiers"),
                                                  (SearchKind.SOURCE_FAMILY, "family"),
                                                  (SearchKind.SOURCE_GIVEN, "given"))
               for value in source.get(key) or []]
    values += [(SearchKind.AUTHOR_ORG, 0, value) for value in (facts.get("authorOrg") or {}).get("identifiers", [])]
    return _rows(owner, values)


def folder_strings(owner: str, title: str | None) -> list[SearchString]:
    return _rows(owner, [(SearchKind.TITLE, 0, title or "")])
