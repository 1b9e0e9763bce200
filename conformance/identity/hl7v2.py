"""HL7 v2.5 data types used by XDS metadata and the VIHF: HD, CX, XCN, XON — parse, format, escape.

Formats of the DMP (xds-metadata.md §6)::

    CX   <id>^^^&<OID>&ISO^NH                                   (patientId)
    XCN  <id>^<family>^<given>^^^^^^&<OID>&ISO^D^^^IDNPS         (authorPerson, legalAuthenticator)
    XON  <name>^^^^^&<OID>&ISO^IDNST^^^<id>                      (authorInstitution)

Component values are escaped with the default delimiters (``\\F\\`` for ``|``, ``\\S\\`` ``^``, ``\\T\\`` ``&``,
``\\R\\`` ``~``, ``\\E\\`` ``\\``), so ``format(parse(x)) == x`` for every canonical value.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.identity.errors import IdentifierError

_ESCAPES = {"|": "\\F\\", "^": "\\S\\", "&": "\\T\\", "~": "\\R\\", "\\": "\\E\\"}
_UNESCAPES = {v[1]: k for k, v in _ESCAPES.items()}


class Hl7V2Error(IdentifierError):
    """A malformed HL7 v2 value; ``position`` is the character index."""


def escape(text: str) -> str:
    return "".join(_ESCAPES.get(c, c) for c in text)


def unescape(text: str, what: str = "HL7 v2 value", offset: int = 0, whole: str | None = None) -> str:
    """Undo :func:`escape`; any other escape sequence or a lone backslash is an error.

    ``text`` starts at ``offset`` in ``whole`` (the complete value), which error messages quote."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        sequence = text[index:index + 3]
        if len(sequence) < 3 or sequence[2] != "\\" or sequence[1] not in _UNESCAPES:
            raise Hl7V2Error(what, f"invalid escape sequence {sequence!r} (expected \\F\\ \\S\\ \\T\\ \\R\\ "
                             "or \\E\\)", whole if whole is not None else text, offset + index)
        code = sequence[1]
        out.append(_UNESCAPES[code])
        index += 3
    return "".join(out)


def _split(value: str, separator: str, what: str, limit: int) -> list[tuple[str, int]]:
    """Split on ``separator`` keeping each part's offset; more than ``limit`` parts is an error."""
    parts: list[tuple[str, int]] = []
    start = 0
    for index, char in enumerate(value):
        if char == separator:
            parts.append((value[start:index], start))
            start = index + 1
    parts.append((value[start:], start))
    if len(parts) > limit:
        raise Hl7V2Error(what, f"at most {limit} {'components' if separator == '^' else 'subcomponents'}, "
                         f"found {len(parts)}", value, parts[limit][1] - 1)
    return parts


def _check_delimiters(value: str, what: str) -> None:
    for bad in "|~\r\n":
        if bad in value:
            raise Hl7V2Error(what, f"unescaped {bad!r} (field or repetition separator) inside one value",
                             value, value.index(bad))


@dataclass(frozen=True, slots=True)
class Hd:
    """Hierarchic designator ``namespace&universalId&universalIdType`` (the DMP uses ``&<OID>&ISO``)."""

    namespace_id: str = ""
    universal_id: str = ""
    universal_id_type: str = ""

    @classmethod
    def iso(cls, oid: str) -> Hd:
        return cls("", oid, "ISO")

    def format(self) -> str:
        text = "&".join(escape(p) for p in (self.namespace_id, self.universal_id, self.universal_id_type))
        return text.rstrip("&")

    @classmethod
    def parse(cls, text: str, what: str = "HD", offset: int = 0, whole: str | None = None) -> Hd:
        parts = _split(text, "&", what, 3)
        values = [unescape(p, what, offset + o, whole) for p, o in parts]
        hd = cls(*values)
        if hd.universal_id and hd.universal_id_type != "ISO":
            raise Hl7V2Error(what, f"universal id type must be ISO for an OID, found {hd.universal_id_type!r}",
                             whole if whole is not None else text, offset)
        return hd


def _components(value: str, what: str, limit: int, hd_indexes: frozenset[int]) -> list[str | Hd]:
    _check_delimiters(value, what)
    out: list[str | Hd] = []
    for number, (text, offset) in enumerate(_split(value, "^", what, limit), start=1):
        if number in hd_indexes:
            out.append(Hd.parse(text, f"{what}.{number}", offset, value) if text else Hd())
            continue
        if "&" in text:
            raise Hl7V2Error(what, f"component {what}.{number} must not contain '&' (escape it as \\T\\)",
                             value, offset + text.index("&"))
        out.append(unescape(text, what, offset, value))
    return out


def _join(components: list[str | Hd]) -> str:
    texts = [c.format() if isinstance(c, Hd) else escape(c) for c in components]
    return "^".join(texts).rstrip("^")


@dataclass(frozen=True, slots=True)
class Cx:
    """Extended composite id: ``id^^^&OID&ISO^type`` (CX.1, CX.4, CX.5; CX.7/CX.8 validity dates, rarely sent)."""

    id: str
    assigning_authority: Hd
    identifier_type_code: str = "NH"
    effective_date: str = ""
    expiration_date: str = ""

    def format(self) -> str:
        return _join([self.id, "", "", self.assigning_authority, self.identifier_type_code, "",
                      self.effective_date, self.expiration_date])

    @classmethod
    def parse(cls, value: str) -> Cx:
        parts = _components(value, "CX", 8, frozenset({4}))
        parts += [""] * (8 - len(parts))
        _require_empty(parts, (2, 3, 6), "CX", value)
        if not parts[0]:
            raise Hl7V2Error("CX", "CX.1 (the identifier) is empty", value, 0)
        authority = parts[3] if isinstance(parts[3], Hd) else Hd()
        if not authority.universal_id:
            raise Hl7V2Error("CX", f"CX.4 assigning authority must be '&<OID>&ISO', found {authority.format()!r}",
                             value)
        return cls(str(parts[0]), authority, str(parts[4]), str(parts[6]), str(parts[7]))


def _require_empty(parts: list[str | Hd], numbers: tuple[int, ...], what: str, value: str) -> None:
    """Components the DMP does not use must be empty: a value there would be lost by the model."""
    for number in numbers:
        if parts[number - 1]:
            raise Hl7V2Error(what, f"{what}.{number} is not used by the DMP and must be empty, found "
                             f"{parts[number - 1]!r}", value)


@dataclass(frozen=True, slots=True)
class Xcn:
    """Extended person name and id (XCN.1 id, .2 family, .3 given, .4 further given, .5 suffix, .6 prefix,
    .9 assigning authority, .10 name type, .13 identifier type)."""

    id: str
    family: str = ""
    given: str = ""
    further_given: str = ""
    suffix: str = ""
    prefix: str = ""
    assigning_authority: Hd = Hd()
    name_type_code: str = ""
    identifier_type_code: str = ""

    def format(self) -> str:
        return _join([self.id, self.family, self.given, self.further_given, self.suffix, self.prefix, "", "",
                      self.assigning_authority, self.name_type_code, "", "", self.identifier_type_code])

    @classmethod
    def parse(cls, value: str) -> Xcn:
        parts = _components(value, "XCN", 13, frozenset({9}))
        parts += [""] * (13 - len(parts))
        _require_empty(parts, (7, 8, 11, 12), "XCN", value)
        authority = parts[8] if isinstance(parts[8], Hd) else Hd()
        return cls(str(parts[0]), str(parts[1]), str(parts[2]), str(parts[3]), str(parts[4]), str(parts[5]),
                   authority, str(parts[9]), str(parts[12]))


@dataclass(frozen=True, slots=True)
class Xon:
    """Extended organisation name and id (XON.1 name, .6 assigning authority, .7 id type, .10 id)."""

    name: str
    assigning_authority: Hd = Hd()
    identifier_type_code: str = ""
    organization_identifier: str = ""

    def format(self) -> str:
        return _join([self.name, "", "", "", "", self.assigning_authority, self.identifier_type_code, "", "",
                      self.organization_identifier])

    @classmethod
    def parse(cls, value: str) -> Xon:
        parts = _components(value, "XON", 10, frozenset({6}))
        parts += [""] * (10 - len(parts))
        _require_empty(parts, (2, 3, 4, 5, 8, 9), "XON", value)
        authority = parts[5] if isinstance(parts[5], Hd) else Hd()
        return cls(str(parts[0]), authority, str(parts[6]), str(parts[9]))
