"""SOAP / WS-Addressing / MTOM rules (kind ``soap``), from docs/transactions.md §4 and the BENCH checks of §8.

The model is :class:`SoapCheck`: the parsed message and the detected transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from conformance.findings import Check, Severity, Violation, rules
from conformance.soap.envelope import SOAP12, WSA, WSA_ANONYMOUS, WSSE, XOP, SoapMessage, SoapVersion
from conformance.soap.transactions import FAULT_ACTION, REQUEST_ACTIONS, RESPONSE_ACTIONS, Detected
from conformance.xml import NAMESPACES, xpath_of

SAML = NAMESPACES["saml"]
XDSB = NAMESPACES["xdsb"]
FAULT_CODES = {"VersionMismatch", "MustUnderstand", "DataEncodingUnknown", "Sender", "Receiver",
               "Client", "Server"}  # the last two are the SOAP 1.1 names


@dataclass(slots=True)
class SoapCheck:
    message: SoapMessage
    detected: Detected
    content_type: str | None = None  # the HTTP Content-Type, when known

    @property
    def is_request(self) -> bool:
        return not self.detected.is_response and self.message.fault is None


def _header_location(message: SoapMessage, local: str, namespace: str = WSA) -> tuple[str | None, int | None]:
    element = message.header(namespace, local)
    if element is None and message.tree is not None:  # the missing header belongs in soap:Header (or the root)
        root = message.tree.getroot()
        header = root.find(f"{{{message.version.namespace}}}Header")
        element = header if header is not None else root
    return (xpath_of(element), element.sourceline) if element is not None else (None, None)


def _missing(message: SoapMessage, local: str, why: str) -> Violation:
    location, line = _header_location(message, local)
    return Violation(f"wsa:{local} is missing; {why}", location=location, line=line)


# The catalogue requirement (profiles/requirements/bench.yaml) each rule implements
_REQUIREMENT_OF = {
    **dict.fromkeys(("BENCH-WSA-ACTION", "BENCH-WSA-ACTION-KNOWN", "BENCH-WSA-MESSAGEID", "BENCH-WSA-REPLYTO",
                     "BENCH-WSA-MUSTUNDERSTAND", "BENCH-WSA-UNIQUE", "BENCH-SOAP-MIME-ACTION",
                     "BENCH-SOAP-BODY-ACTION"), "BENCH-WSA"),
    **dict.fromkeys(("BENCH-WSA-RELATESTO", "BENCH-WSA-TO-RESPONSE"), "BENCH-DMP-WSA-RESPONSE"),
    **dict.fromkeys(("BENCH-MTOM-XOP-DOCUMENTS", "BENCH-MTOM-REQUIRED"), "BENCH-MTOM"),
    "BENCH-SOAP-SECURITY": "BENCH-VIHF-ONE",
    "BENCH-SOAP-FAULT": "BENCH-DMP-ERRORS",
}


def _register(rule_id: str, title: str, severity: Severity = Severity.ERROR,
              hint: str | None = None) -> Callable[[Check], Check]:
    return rules.register(rule_id, kind="soap", title=title, severity=severity, hint=hint,
                          requirement=_REQUIREMENT_OF.get(rule_id))


@_register("BENCH-SOAP-VERSION", "the envelope is SOAP 1.2", Severity.WARNING,
           hint=f"use the SOAP 1.2 envelope namespace {SOAP12}")
def soap_version(check: SoapCheck) -> Iterator[Violation]:
    if check.message.version is not SoapVersion.SOAP12:
        root = check.message.tree.getroot() if check.message.tree is not None else None
        yield Violation("SOAP 1.1 envelope: the DMP WSDL binds every service with SOAP 1.2 (accepted, not portable)",
                        location=xpath_of(root) if root is not None else None,
                        line=root.sourceline if root is not None else None)


@_register("BENCH-WSA-ACTION", "wsa:Action is present", hint="add <wsa:Action mustUnderstand=\"true\"> with the "
           "action of the transaction (docs/transactions.md §2)")
def wsa_action(check: SoapCheck) -> Iterator[Violation]:
    if not check.message.action:
        yield _missing(check.message, "Action", "the DMP routes every message on it")


@_register("BENCH-WSA-ACTION-KNOWN", "wsa:Action is an action of the DMP catalogue", Severity.WARNING,
           hint="use one of the request/response actions of docs/transactions.md §2")
def wsa_action_known(check: SoapCheck) -> Iterator[Violation]:
    action = check.message.action
    known = REQUEST_ACTIONS | RESPONSE_ACTIONS | {FAULT_ACTION}
    if action and action not in known and not action.endswith(":Fault:SoapFault"):
        location, line = _header_location(check.message, "Action")
        yield Violation(f"wsa:Action {action!r} is not an action of the DMP catalogue", location=location, line=line)


@_register("BENCH-WSA-MESSAGEID", "wsa:MessageID is present and a urn:uuid",
           hint="send a fresh urn:uuid:<uuid> MessageID in every message")
def wsa_message_id(check: SoapCheck) -> Iterator[Violation]:
    message_id = check.message.message_id
    if not message_id:
        yield _missing(check.message, "MessageID", "responses relate to the request through it")
    elif not message_id.lower().startswith("urn:uuid:"):
        location, line = _header_location(check.message, "MessageID")
        yield Violation(f"wsa:MessageID {message_id!r} is not a urn:uuid (the official examples use urn:uuid:…)",
                        location=location, line=line, severity=Severity.WARNING)


@_register("BENCH-WSA-REPLYTO", "a request has wsa:ReplyTo/Address = anonymous",
           hint=f"add <wsa:ReplyTo><wsa:Address>{WSA_ANONYMOUS}</wsa:Address></wsa:ReplyTo>")
def wsa_reply_to(check: SoapCheck) -> Iterator[Violation]:
    if not check.is_request:
        return
    if check.message.reply_to is None:
        yield _missing(check.message, "ReplyTo", "the DMP answers on the same connection (anonymous)")
    elif check.message.reply_to != WSA_ANONYMOUS:
        location, line = _header_location(check.message, "ReplyTo")
        yield Violation(f"wsa:ReplyTo/Address is {check.message.reply_to!r}, expected {WSA_ANONYMOUS}",
                        location=location, line=line)


@_register("BENCH-WSA-MUSTUNDERSTAND", "a request's wsa:Action carries mustUnderstand=\"true\"", Severity.WARNING,
           hint="set mustUnderstand=\"true\" (SOAP 1.2) on wsa:Action, as the official requests do")
def wsa_must_understand(check: SoapCheck) -> Iterator[Violation]:
    action = check.message.header(WSA, "Action")
    if not check.is_request or action is None:
        return
    values = [v for k, v in action.attrib.items() if k.endswith("mustUnderstand")]
    if not values or values[0].strip() not in ("true", "1"):
        yield Violation("wsa:Action has no mustUnderstand=\"true\"", location=xpath_of(action), line=action.sourceline)


@_register("BENCH-WSA-RELATESTO", "a response relates to its request (wsa:RelatesTo)",
           hint="copy the request's wsa:MessageID into wsa:RelatesTo")
def wsa_relates_to(check: SoapCheck) -> Iterator[Violation]:
    if check.detected.is_response and not check.message.relates_to:
        yield _missing(check.message, "RelatesTo", "the client matches responses to requests through it")


@_register("BENCH-WSA-TO-RESPONSE", "a response is addressed to anonymous (wsa:To)", Severity.WARNING,
           hint=f"send <wsa:To>{WSA_ANONYMOUS}</wsa:To> in responses")
def wsa_to_response(check: SoapCheck) -> Iterator[Violation]:
    if check.detected.is_response and check.message.to not in (None, WSA_ANONYMOUS):
        location, line = _header_location(check.message, "To")
        yield Violation(f"response wsa:To is {check.message.to!r}, expected {WSA_ANONYMOUS}", location=location,
                        line=line)


@_register("BENCH-WSA-UNIQUE", "each WS-Addressing header appears at most once",
           hint="send each wsa header once")
def wsa_unique(check: SoapCheck) -> Iterator[Violation]:
    seen: set[str] = set()
    for header in check.message.headers:
        if header.tag.startswith(f"{{{WSA}}}"):
            if header.tag in seen:
                yield Violation(f"{header.tag.split('}')[1]} header repeated", location=xpath_of(header),
                                line=header.sourceline)
            seen.add(header.tag)


@_register("BENCH-SOAP-MIME-ACTION", "the MIME action parameter equals wsa:Action", Severity.WARNING,
           hint="set the action parameter of the Content-Type to the wsa:Action value (or leave it out)")
def mime_action(check: SoapCheck) -> Iterator[Violation]:
    mime, action = check.message.mime_action, check.message.action
    if mime and action and mime != action:
        yield Violation(f"MIME action parameter {mime!r} differs from wsa:Action {action!r}")


@_register("BENCH-SOAP-SECURITY", "a request carries one wsse:Security header holding exactly one VIHF assertion",
           hint="put the VIHF (saml2:Assertion) alone in wsse:Security (docs/vihf.md)")
def soap_security(check: SoapCheck) -> Iterator[Violation]:
    if not check.is_request or check.detected.transaction is None:
        return
    securities = [h for h in check.message.headers if h.tag == f"{{{WSSE}}}Security"]
    if not securities:
        location, line = _header_location(check.message, "Security", WSSE)
        yield Violation("no wsse:Security header: every DMP call carries a VIHF (TD0.1)", location=location, line=line)
        return
    if len(securities) > 1:
        yield Violation(f"{len(securities)} wsse:Security headers, expected one", location=xpath_of(securities[1]),
                        line=securities[1].sourceline)
    assertions = securities[0].findall(f"{{{SAML}}}Assertion")
    if len(assertions) != 1:
        yield Violation(f"wsse:Security holds {len(assertions)} saml2:Assertion, expected exactly one",
                        location=xpath_of(securities[0]), line=securities[0].sourceline)


@_register("BENCH-SOAP-BODY-ACTION", "the body element is the one of the transaction named by wsa:Action",
           hint="send the body element the WSDL defines for this action")
def body_matches_action(check: SoapCheck) -> Iterator[Violation]:
    transaction = check.detected.transaction
    body = check.message.body
    if transaction is None or check.detected.is_response or check.message.fault is not None:
        return
    if body is None:
        yield Violation(f"empty soap:Body for {transaction.td}, expected {transaction.request_element}")
    elif body.tag != transaction.request_element:
        yield Violation(f"body element {body.tag} does not match wsa:Action {check.message.action!r} "
                        f"({transaction.td} expects {transaction.request_element})", location=xpath_of(body),
                        line=body.sourceline)


@_register("BENCH-MTOM-XOP-DOCUMENTS", "ITI-41 sends each document as an MTOM part (one xop:Include per Document)",
           hint="send documents as MTOM attachments referenced by xop:Include (not inline base64)")
def xop_documents(check: SoapCheck) -> Iterator[Violation]:
    body = check.message.body
    if body is None or body.tag != f"{{{XDSB}}}ProvideAndRegisterDocumentSetRequest":
        return
    for document in body.iterfind(f"{{{XDSB}}}Document"):
        includes = document.findall(f"{{{XOP}}}Include")
        if len(includes) != 1:
            yield Violation(f"xdsb:Document id={document.get('id')!r} has {len(includes)} xop:Include, expected one "
                            "(the Registry/Repository bindings are MTOM)", location=xpath_of(document),
                            line=document.sourceline)


@_register("BENCH-MTOM-REQUIRED", "Registry and Repository messages travel as MTOM", Severity.WARNING,
           hint="send multipart/related; type=\"application/xop+xml\" (the DMP registry/repository bindings are MTOM)")
def mtom_required(check: SoapCheck) -> Iterator[Violation]:
    transaction = check.detected.transaction
    if transaction is not None and transaction.mtom and not check.message.mtom and check.message.fault is None:
        yield Violation(f"{transaction.td} message sent as plain SOAP; the DMP registry and repository services "
                        "use MTOM (multipart/related)")


@_register("BENCH-SOAP-FAULT", "a SOAP fault has a standard Code and a Reason",
           hint="use Code soap:Sender or soap:Receiver (DMP codes go in Subcode) and a Reason/Text")
def soap_fault(check: SoapCheck) -> Iterator[Violation]:
    fault = check.message.fault
    if fault is None or check.message.body is None:
        return
    location, line = xpath_of(check.message.body), check.message.body.sourceline
    if fault.code not in FAULT_CODES:
        yield Violation(f"fault code {fault.code!r} is not a SOAP fault code ({', '.join(sorted(FAULT_CODES))})",
                        location=location, line=line)
    if not fault.reason:
        yield Violation("the fault has no Reason text", location=location, line=line)


@_register("BENCH-SOAP-OBSOLETE", "the transaction is usable in 2026", Severity.WARNING,
           hint="TD1.1 is suspended and TD1.5x were removed from the WSDL (docs/transactions.md §2)")
def obsolete_transaction(check: SoapCheck) -> Iterator[Violation]:
    transaction = check.detected.transaction
    if transaction is not None and not transaction.active:
        yield Violation(f"{transaction.td} ({transaction.title}) is no longer offered by the DMP")
