"""Fault-injected variants of the reference DMP: each named fault breaks one requirement on purpose.

The mutation test (``tests/mutation/test_kill_rate.py``) serves each variant (``dmp-conformance serve --fault
NAME``) and checks that the server-role and property suites notice: a suite that passes against a broken DMP
would also pass against a broken real one.

A fault is a minimal hook installed by wrapping one function of the server or the store *in the server
process*: :func:`install` is meant for ``serve`` (one process per variant), never for an in-process app shared
with other tests.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

Installer = Callable[[], None]


@dataclass(frozen=True, slots=True)
class Fault:
    name: str
    breaks: str  # the requirement a conformant suite reports failing against this variant
    description: str
    install: Installer


FAULTS: dict[str, Fault] = {}


class UnknownFault(ValueError):
    pass


def fault(name: str, breaks: str, description: str) -> Callable[[Installer], Installer]:
    def register(install: Installer) -> Installer:
        FAULTS[name] = Fault(name, breaks, description, install)
        return install
    return register


def install(names: Iterable[str]) -> list[Fault]:
    """Install the named faults in this process (unknown names raise :class:`UnknownFault` before any install)."""
    names = list(names)
    unknown = sorted(set(names) - set(FAULTS))
    if unknown:
        raise UnknownFault(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(sorted(FAULTS))}")
    chosen = [FAULTS[n] for n in dict.fromkeys(names)]
    for item in chosen:
        item.install()
    return chosen


def _wrap(owner: Any, attribute: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    """Replace ``owner.attribute`` by ``make(original)``."""
    setattr(owner, attribute, make(getattr(owner, attribute)))


def _store_class() -> Any:
    from conformance.store import Store

    return Store


# --- integrity of what is stored and returned -----------------------------------------------------------------

def _entry_model_with(**changes: Callable[[Any], Any]) -> None:
    """Registry answers (TD3.1) built from stored rows, with some attributes changed."""
    from conformance.server import xds_services

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def entry_model(row: Any) -> Any:
            entry = original(row)
            for name, change in changes.items():
                setattr(entry, name, change(getattr(entry, name)))
            return entry
        return entry_model
    _wrap(xds_services, "_entry_model", make)


@fault("skip-hash", "BENCH-DMP-INTEGRITY", "FindDocuments answers a wrong SHA-1 hash")
def _skip_hash() -> None:
    _entry_model_with(hash=lambda _value: "0" * 40)


@fault("wrong-size", "BENCH-DMP-INTEGRITY", "FindDocuments answers a size one byte too large")
def _wrong_size() -> None:
    _entry_model_with(size=lambda value: str(int(value or 0) + 1))


@fault("accept-hash-mismatch", "BENCH-DMP-REJECT", "a declared hash or size that differs from the bytes is accepted")
def _accept_hash_mismatch() -> None:
    from conformance.store import store

    _wrap(store, "_check_hash_size", lambda _original: lambda *_args: None)


@fault("partial-commit", "BENCH-DMP-TD3.2", "entries are registered but the document bytes are lost")
def _partial_commit() -> None:
    from sqlalchemy import update

    from conformance.store.schema import Document

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def register_submissions(self: Any, submissions: Any) -> Any:
            results = original(self, submissions)
            ids = [d.unique_id for sub in submissions for d in sub.documents]
            with self.writing() as s:
                s.execute(update(Document).where(Document.unique_id.in_(ids)).values(content=b""))
            return results
        return register_submissions
    _wrap(_store_class(), "register_submissions", make)


@fault("retrieve-wrong-bytes", "BENCH-DMP-TD3.2", "TD3.2 returns the document with one extra byte")
def _retrieve_wrong_bytes() -> None:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def document(self: Any, unique_id: str) -> Any:
            found = original(self, unique_id)
            if found is None:
                return None
            return SimpleNamespace(unique_id=found.unique_id, mime_type=found.mime_type, sha1=found.sha1,
                                   size=found.size, content=found.content + b"\n")
        return document
    _wrap(_store_class(), "document", make)


def _on_duplicate(handle: Callable[[Any, Any], Any]) -> None:
    """Wrap the store's submission so that a duplicate uniqueId goes to ``handle(error, submissions)``."""
    from conformance.store.types import DuplicateUniqueId

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def register_submissions(self: Any, submissions: Any) -> Any:
            try:
                return original(self, submissions)
            except DuplicateUniqueId as exc:
                return handle(exc, submissions)
        return register_submissions
    _wrap(_store_class(), "register_submissions", make)


@fault("wrong-error-code", "BENCH-DMP-DUPLICATE",
       "a duplicate uniqueId is refused with XDSRegistryError instead of XDSDuplicateUniqueIdInRegistry")
def _wrong_error_code() -> None:
    from conformance.store.types import StoreError

    def handle(exc: Any, _submissions: Any) -> Any:
        raise StoreError(str(exc), code="XDSRegistryError")
    _on_duplicate(handle)


@fault("accept-duplicate-uniqueid", "BENCH-DMP-DUPLICATE", "a duplicate uniqueId is answered Success (not stored)")
def _accept_duplicate() -> None:
    from conformance.store.types import SubmissionResult

    _on_duplicate(lambda _exc, submissions: [SubmissionResult("", {}) for _ in submissions])


# --- lifecycle ------------------------------------------------------------------------------------------------

@fault("no-deprecate-on-replace", "BENCH-DMP-REPLACE", "a replacement (RPLC) leaves the replaced entry Approved")
def _no_deprecate() -> None:
    from sqlalchemy import select

    from conformance.store import store
    from conformance.store.schema import DocumentEntry
    from conformance.store.types import EntryStatus

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def deprecate_replaced(s: Any, target_uuid: str, patient_id: str) -> str:
            replaced = original(s, target_uuid, patient_id)  # keeps the checks, then undoes the deprecation
            s.scalar(select(DocumentEntry).where(DocumentEntry.entry_uuid == replaced)).status = \
                EntryStatus.APPROVED.value
            return str(replaced)
        return deprecate_replaced
    _wrap(store, "_deprecate_replaced", make)


@fault("ignore-status-filter", "BENCH-DMP-TD3.3c", "FindDocuments ignores $XDSDocumentEntryStatus")
def _ignore_status_filter() -> None:
    from conformance.store.types import EntryStatus

    every = [s.value for s in EntryStatus]
    _wrap(_store_class(), "find_documents",
          lambda original: lambda self, query: original(self, dataclasses.replace(query, statuses=every)))


@fault("archive-as-delete", "BENCH-DMP-STATUS", "TD3.3d archiving moves the document to Deleted")
def _archive_as_delete() -> None:
    from conformance.store.types import EntryStatus

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def update_status(self: Any, entry_uuid: str, new_status: Any, original_status: Any = None) -> Any:
            if new_status == EntryStatus.ARCHIVED:
                new_status = EntryStatus.DELETED
            return original(self, entry_uuid, new_status, original_status)
        return update_status
    _wrap(_store_class(), "update_status", make)


@fault("no-access-history", "BENCH-DMP-HISTORY", "accesses are not written to the access history")
def _no_access_history() -> None:
    _wrap(_store_class(), "record_access", lambda _original: lambda *_args, **_kwargs: None)


# --- access control -------------------------------------------------------------------------------------------

@fault("leak-masked", "BENCH-DMP-VISIBILITY", "documents masked to professionals (MASQUE_PS) are shown to all")
def _leak_masked() -> None:
    from conformance.server import access, xds_services
    from conformance.server.fhir import services as fhir_services

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def check_visible(caller: Any, dmp: Any, document: Any) -> Any:
            codes = tuple(c for c in document.confidentiality_codes if c.partition("^^")[0] != access.MASQUE_PS)
            return original(caller, dmp, dataclasses.replace(document, confidentiality_codes=codes))
        return check_visible
    for api in (xds_services, fhir_services):  # the leak is on both APIs, as a real defect of the store would be
        _wrap(api, "check_visible", make)


@fault("ignore-revoked-authorization", "BENCH-DMP-AUTHZ", "a revoked authorization still gives access")
def _ignore_revoked() -> None:
    from conformance.server import access, xds_services
    from conformance.server.fhir import services as fhir_services
    from conformance.store import AuthorizationStatus

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def check_dmp_access(caller: Any, dmp: Any, *, writing: bool = False) -> Any:
            if dmp.authorization is AuthorizationStatus.REVOKED:
                dmp = dataclasses.replace(dmp, authorization=AuthorizationStatus.GRANTED)
            return original(caller, dmp, writing=writing)
        return check_dmp_access
    wrapped = make(access.check_dmp_access)
    access.check_dmp_access = wrapped  # type: ignore[assignment]  # the other checks call it through the module
    xds_services.check_dmp_access = wrapped  # type: ignore[assignment]
    fhir_services.check_dmp_access = wrapped  # type: ignore[assignment]


@fault("author-rule-off", "EX_2.1-1140", "anyone authorized may feed a document authored by someone else")
def _author_rule_off() -> None:
    from conformance.server import access

    _wrap(access, "check_author", lambda _original: lambda *_args, **_kwargs: access.allow("fault: author-rule-off"))


@fault("accept-delete-by-other", "BENCH-DMP-TD3.3c", "a professional may delete another professional's document")
def _accept_delete_by_other() -> None:
    from conformance.server import access, xds_services

    _wrap(xds_services, "check_delete",
          lambda _original: lambda *_args: access.allow("fault: accept-delete-by-other"))


@fault("find-ignores-patient", "BENCH-DMP-ISOLATION", "FindDocuments returns the documents of every patient")
def _find_ignores_patient() -> None:
    from sqlalchemy import select

    from conformance.server import xds_services
    from conformance.store.schema import DocumentEntry

    def find_documents(self: Any, query: Any) -> list[Any]:
        with self.reading() as s:
            return list(s.scalars(select(DocumentEntry).where(DocumentEntry.status.in_(query.statuses))))
    _wrap(_store_class(), "find_documents", lambda _original: find_documents)
    _wrap(xds_services, "same_patient", lambda _original: lambda *_args: True)


@fault("td31-in-indirect-mode", "BENCH-DMP-MODES", "TD3.1 is allowed in indirect authentication mode")
def _td31_indirect() -> None:
    from conformance.server import access, xds_services

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def check_transaction(caller: Any, transaction: str, dmp: Any = None) -> Any:
            if transaction in ("TD3.1", "TD3.2"):
                return access.allow("fault: td31-in-indirect-mode")
            return original(caller, transaction, dmp)
        return check_transaction
    _wrap(xds_services, "check_transaction", make)


# --- VIHF -----------------------------------------------------------------------------------------------------

@fault("accept-expired-vihf", "BENCH-DMP-VIHF-TRUST", "a VIHF outside its validity window is accepted")
def _accept_expired() -> None:
    from conformance.server import identity

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def verify_vihf(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            result.findings = [f for f in result.findings if not f.rule.startswith("BENCH-VIHF-TIME")]
            return result
        return verify_vihf
    _wrap(identity, "verify_vihf", make)


@fault("accept-unsigned-vihf", "BENCH-DMP-VIHF-TRUST", "an unsigned VIHF is accepted (lenient signatures forced)")
def _accept_unsigned() -> None:
    from conformance.server import identity

    _wrap(identity, "_verify", lambda original: lambda security, settings: original(
        security, dataclasses.replace(settings, lenient_signatures=True)))


# --- SOAP answers ---------------------------------------------------------------------------------------------

def _envelope_with(**changes: Callable[[Any], Any]) -> None:
    from conformance.server import routing

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def build_envelope(body: Any, **kwargs: Any) -> Any:
            for name, change in changes.items():
                kwargs[name] = change(kwargs.get(name))
            return original(body, **kwargs)
        return build_envelope
    _wrap(routing, "build_envelope", make)


@fault("wrong-relatesto", "BENCH-DMP-WSA-RESPONSE", "responses name another message in wsa:RelatesTo")
def _wrong_relates_to() -> None:
    _envelope_with(relates_to=lambda _value: f"urn:uuid:{uuid.uuid4()}")


@fault("wrong-response-action", "BENCH-DMP-WSA-RESPONSE", "responses carry the request's action")
def _wrong_response_action() -> None:
    _envelope_with(action=lambda value: str(value).replace("Response", ""))


@fault("fault-as-200", "BENCH-DMP-ERRORS", "SOAP faults are sent with HTTP 200")
def _fault_as_200() -> None:
    from conformance.server import app, routing

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def fault_outcome(*args: Any, **kwargs: Any) -> Any:
            outcome = original(*args, **kwargs)
            outcome.status = 200
            return outcome
        return fault_outcome
    wrapped = make(routing.fault_outcome)
    routing.fault_outcome = wrapped  # type: ignore[assignment]
    app.fault_outcome = wrapped  # type: ignore[attr-defined]


@fault("unknown-patient-wrong-code", "BENCH-DMP-ERRORS",
       "a query on a patient without DMP is refused with XDSRegistryError instead of XDSUnknownPatientId")
def _unknown_patient_wrong_code() -> None:
    from conformance.server import xds_services
    from conformance.server.errors import XdsFailure
    from conformance.xds import ErrorCode

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def patient_of_call(exchange: Any, cx: Any) -> Any:
            try:
                return original(exchange, cx)
            except XdsFailure as failure:
                if failure.code == ErrorCode.UNKNOWN_PATIENT_ID:
                    raise XdsFailure(ErrorCode.REGISTRY_ERROR, failure.context) from failure
                raise
        return patient_of_call
    _wrap(xds_services, "_patient_of_call", make)
