"""One entry point to validate any artefact: detect its kind, then run that kind's validator.

Each kind (CDA document, SOAP/MTOM message, FHIR resource…) registers an :class:`ArtefactKind` from
its own package; the CLI, the server's capture and the suites all call :func:`validate_bytes`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from conformance.findings import ArtefactResult, Finding, Severity, Source


@dataclass(slots=True)
class ValidationContext:
    """What validators may need beyond the artefact itself."""

    profiles_dir: Path | None = None  # cache of imported official packages (None: default location)
    package_dir: Path | None = None  # an explicit CI-SIS package folder, bypassing the cache
    lenient: bool = False  # accept legacy captures (LF multipart, unsigned VIHF …) and report them as warnings
    options: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ArtefactKind:
    name: str
    detect: Callable[[bytes], bool]
    validate: Callable[[bytes, str, ValidationContext], ArtefactResult]
    priority: int = 100  # lower is tried first


_KINDS: dict[str, ArtefactKind] = {}
# Packages that register kinds when imported; listed here so detection never depends on import order.
_KIND_MODULES = (
    "conformance.cda.kind",
    "conformance.soap.kind",
    "conformance.vihf.kind",
    "conformance.fhir.kind",
)
_loaded = False


def register_kind(kind: ArtefactKind) -> None:
    _KINDS[kind.name] = kind


def kinds() -> list[ArtefactKind]:
    global _loaded
    if not _loaded:
        for module in _KIND_MODULES:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                # an absent kind package is fine; a missing dependency inside a present one is a bug
                if exc.name is None or not module.startswith(exc.name):
                    raise
        _loaded = True
    return sorted(_KINDS.values(), key=lambda k: k.priority)


def detect_kind(data: bytes) -> ArtefactKind | None:
    for kind in kinds():
        if kind.detect(data):
            return kind
    return None


def validate_bytes(data: bytes, path: str, context: ValidationContext | None = None,
                   kind: str | None = None) -> ArtefactResult:
    context = context or ValidationContext()
    chosen = _KINDS.get(kind) if kind else detect_kind(data)
    if kind and chosen is None:
        kinds()
        chosen = _KINDS.get(kind)
    if chosen is None:
        return ArtefactResult(path=path, kind="unknown", findings=[Finding(
            rule="BENCH-KIND", severity=Severity.ERROR, source=Source.XML,
            message="not a recognised artefact (CDA document, DMP SOAP/MTOM message or FHIR resource)",
            hint="check the file is one of the supported kinds, or pass --kind explicitly",
        )])
    return chosen.validate(data, path, context)


SUFFIXES = (".xml", ".json", ".txt", ".mime", ".eml", ".http", ".bin")


def iter_files(paths: Sequence[Path]) -> Iterator[Path]:
    """Files named on the command line, and the files below each folder (sorted, hidden ones skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(p.startswith(".") for p in child.relative_to(path).parts) \
                        and child.suffix.lower() in SUFFIXES:
                    yield child
        else:
            yield path
