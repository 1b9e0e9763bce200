"""Errors of the artefact importer: each one says what went wrong and what to do."""

from __future__ import annotations


class PackageError(Exception):
    """An official package could not be imported, found or removed. ``hint`` tells the user what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UnsafeArchiveError(PackageError):
    """An archive member would escape the extraction folder, is a link outside it, or exceeds a limit."""
