"""The error raised when an identifier or an HL7 v2 value cannot be parsed."""

from __future__ import annotations


class IdentifierError(ValueError):
    """A malformed identifier: ``what`` names the identifier type, ``position`` is the 0-based offending index.

    The message always says what was expected and what was found, so it can go straight into a Finding.
    """

    def __init__(self, what: str, message: str, value: str, position: int | None = None) -> None:
        self.what = what
        self.value = value
        self.position = position
        where = f" at position {position + 1}" if position is not None else ""
        super().__init__(f"{what} {value!r}: {message}{where}")
