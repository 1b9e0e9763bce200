"""SOAP 1.2 / WS-Addressing / MTOM layer of the bench.

Public API (stable):

* :func:`parse_message` ``(body | chunks, content_type=None, *, lenient=False, limits=None) -> SoapMessage`` —
  plain SOAP or MTOM HTTP body (an MTOM chunk stream is parsed as it streams); :func:`parse_envelope` for bare
  XML; :func:`message_from_tree` for a parsed tree.
* :class:`SoapMessage` — ``version``, ``action``, ``message_id``, ``to``, ``reply_to``, ``relates_to``,
  ``headers``, ``body`` (first child of soap:Body), ``security`` (raw ``wsse:Security`` for the VIHF layer),
  ``fault``, ``attachments`` (Content-ID → :class:`Attachment`), ``mime_action``, ``mtom``, ``findings``
  (irregularities met while reading) and ``content_of(element)``: the bytes behind an ``xop:Include`` or base64.
* :func:`build_envelope`, :func:`build_fault` (:class:`SoapFault`), :func:`to_bytes`,
  :func:`build_mtom` / :func:`serialize_message` ``-> (body, content_type)``.
* :func:`parse_mtom` / :class:`MtomParser` (streaming, :class:`MtomLimits`), :func:`parse_content_type`.
* Errors: :class:`SoapError` / :class:`MtomError` with ``.rule`` and ``.to_finding()``; never another
  exception on hostile input.
* :mod:`conformance.soap.transactions` — the DMP catalogue (``CATALOGUE``, ``BY_TD``) and
  ``detect_transaction(message) -> Detected(transaction, is_response)``.
* :mod:`conformance.soap.rules` — the ``soap`` rules (model ``SoapCheck``); :mod:`conformance.soap.kind` — the
  ``soap`` artefact kind of :func:`conformance.validation.validate_bytes` (SOAP + XSD + XDS + XAdES + VIHF).
"""

from conformance.soap.envelope import (
    SOAP11,
    SOAP12,
    WSA,
    WSA_ANONYMOUS,
    WSSE,
    XOP,
    Attachment,
    SoapFault,
    SoapMessage,
    SoapVersion,
    build_envelope,
    build_fault,
    content_id_of_href,
    message_from_tree,
    new_message_id,
    parse_envelope,
    soap_content_type,
    to_bytes,
)
from conformance.soap.errors import MtomError, SoapError
from conformance.soap.mtom import (
    MtomLimits,
    MtomPackage,
    MtomParser,
    build_mtom,
    is_multipart,
    parse_content_type,
    parse_message,
    parse_mtom,
    serialize_message,
)

__all__ = [
    "SOAP11",
    "SOAP12",
    "WSA",
    "WSA_ANONYMOUS",
    "WSSE",
    "XOP",
    "Attachment",
    "MtomError",
    "MtomLimits",
    "MtomPackage",
    "MtomParser",
    "SoapError",
    "SoapFault",
    "SoapMessage",
    "SoapVersion",
    "build_envelope",
    "build_fault",
    "build_mtom",
    "content_id_of_href",
    "is_multipart",
    "message_from_tree",
    "new_message_id",
    "parse_content_type",
    "parse_envelope",
    "parse_message",
    "parse_mtom",
    "serialize_message",
    "soap_content_type",
    "to_bytes",
]
