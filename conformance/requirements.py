"""The requirement catalogue: official and bench requirements authored in YAML, merged with the rule registry.

The YAML files live in ``profiles/requirements/`` (schema in its README). Every rule registered in
:data:`conformance.findings.rules` also becomes a requirement (its own ID), so the catalogue is the single
list that the pytest plugin checks markers against, that coverage reads, and that reports give verdicts for.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from conformance.findings import Rule, RuleRegistry, Severity, rules
from conformance.resources import profiles_path

LEVELS = ("SHALL", "SHOULD", "MAY")
ACTORS = ("LPS", "DMP", "document")
PROFILES = ("Accès", "Alimentation", "Consultation", "Gestion administrative", "Documents")
REQUIREMENTS_ENV = "DMP_CONFORMANCE_REQUIREMENTS"
# Official IDs (EX_2.1-1140, RG_0320, PRE_TPS, EF_DMP11_01), bench IDs and CI-SIS rule names: letters, digits
# and . _ -
ID_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")
TRANSACTION_PATTERN = re.compile(r"^(TD\d\.\d[a-z]?|ITI-\d+)$")  # TD0.2, TD3.1b, TD3.3c, ITI-41

_REQUIRED = ("id", "title", "source", "level", "actor", "profile")
_OPTIONAL = ("transaction", "manual")
# A rule becomes a requirement: its kind says which profile, actor and transaction it serves.
_KIND_DEFAULTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "cda": ("Documents", "document", ("TD2.1",)),
    "fhir": ("Documents", "document", ()),
    "xds": ("Alimentation", "LPS", ("TD2.1", "ITI-41")),
    "coherence": ("Alimentation", "LPS", ("TD2.1", "ITI-41")),
    "vihf": ("Accès", "LPS", ("TD0.1",)),
    "soap": ("Accès", "LPS", ()),
}
_SEVERITY_LEVEL = {Severity.ERROR: "SHALL", Severity.WARNING: "SHOULD", Severity.INFO: "MAY"}
# Packages whose rule modules register rules when imported (see load_rule_modules).
_RULE_PACKAGES = (
    "conformance.cda",
    "conformance.xds",
    "conformance.vihf",
    "conformance.soap",
    "conformance.fhir",
    "conformance.schematron",
    "conformance.identity",
)


class CatalogueError(ValueError):
    """A bad catalogue entry; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Requirement:
    id: str
    title: str
    source: str
    level: str  # SHALL / SHOULD / MAY
    actor: str  # LPS / DMP / document
    profiles: tuple[str, ...]
    transactions: tuple[str, ...] = ()
    manual: str | None = None  # why no automated test can verify it (attestation)
    origin: str = ""  # "profiles/requirements/x.yaml:12" or "rule registry"
    rules: tuple[
        str, ...
    ] = ()  # IDs of the registered rules that implement it (its own ID when it is a rule)

    @property
    def mandatory(self) -> bool:
        return self.level == "SHALL"

    @property
    def profile(self) -> str:
        return self.profiles[0]

    @property
    def transaction(self) -> str | None:
        return self.transactions[0] if self.transactions else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "source": self.source,
            "level": self.level,
            "actor": self.actor,
            "profiles": list(self.profiles),
            "transactions": list(self.transactions),
            "manual": self.manual,
            "origin": self.origin,
            "rules": list(self.rules),
        }


@dataclass(slots=True)
class Catalogue:
    requirements: dict[str, Requirement] = field(default_factory=dict)
    # Rule modules that failed to import: their rules are missing from this catalogue.
    load_errors: list[str] = field(default_factory=list)

    def __contains__(self, requirement_id: object) -> bool:
        return requirement_id in self.requirements

    def __iter__(self) -> Iterator[Requirement]:
        return iter(sorted(self.requirements.values(), key=lambda r: r.id))

    def __len__(self) -> int:
        return len(self.requirements)

    def get(self, requirement_id: str) -> Requirement | None:
        return self.requirements.get(requirement_id)

    def expand(self, ids: Iterable[str]) -> list[str]:
        """``ids`` plus the requirements implemented by the rules among them (a test of a rule tests its
        requirement)."""
        expanded = list(dict.fromkeys(ids))
        for requirement in self.requirements.values():
            if requirement.id not in expanded and any(
                r in expanded and r != requirement.id for r in requirement.rules
            ):
                expanded.append(requirement.id)
        return expanded

    def unknown(self, ids: Iterable[str]) -> list[str]:
        return sorted({i for i in ids if i not in self.requirements})

    def with_rules(self, registry: RuleRegistry = rules) -> Catalogue:
        """A copy with one entry per registered rule; a rule whose ID is already authored keeps the YAML
        entry."""
        merged = dict(self.requirements)
        for rule in registry:
            if rule.id in merged:
                merged[rule.id] = _add_rule(merged[rule.id], rule.id)
            else:
                merged[rule.id] = requirement_of_rule(rule)
            if rule.requirement and rule.requirement in merged:
                merged[rule.requirement] = _add_rule(merged[rule.requirement], rule.id)
        return Catalogue(merged, list(self.load_errors))


def _add_rule(requirement: Requirement, rule_id: str) -> Requirement:
    if rule_id in requirement.rules:
        return requirement
    return replace(requirement, rules=(*requirement.rules, rule_id))


def requirement_of_rule(rule: Rule) -> Requirement:
    profile, actor, transactions = _KIND_DEFAULTS.get(rule.kind, ("Documents", "LPS", ()))
    source = f"bench rule ({rule.kind})" + (f", implements {rule.requirement}" if rule.requirement else "")
    return Requirement(
        id=rule.id,
        title=rule.title,
        source=source,
        level=_SEVERITY_LEVEL[rule.severity],
        actor=actor,
        profiles=(profile,),
        transactions=transactions,
        origin="rule registry",
        rules=(rule.id,),
    )


def default_directory() -> Path:
    """``$DMP_CONFORMANCE_REQUIREMENTS``, else ``profiles/requirements`` of the source tree."""
    env = os.environ.get(REQUIREMENTS_ENV)
    if env:
        return Path(env)
    return profiles_path("requirements")


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping, so errors can point at the entry."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(i, str) and i.strip() for i in items):
        raise CatalogueError(
            f"{where}: {key!r} must be a non-empty string or a list of them, found {value!r}"
        )
    return tuple(i.strip() for i in items)


def parse_entry(entry: Any, filename: str) -> Requirement:
    """One YAML entry → a Requirement, or a :class:`CatalogueError` saying what is wrong and where."""
    if not isinstance(entry, Mapping):
        raise CatalogueError(
            f"{filename}: a requirement must be a mapping with keys {', '.join(_REQUIRED)}, found {entry!r}"
        )
    where = f"{filename}:{entry.get('__line__', '?')}"
    data = {k: v for k, v in entry.items() if k != "__line__"}
    missing = [k for k in _REQUIRED if data.get(k) in (None, "", [])]
    if missing:
        raise CatalogueError(f"{where}: requirement {data.get('id', '?')!r} lacks {', '.join(missing)}")
    extra = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL))
    if extra:
        raise CatalogueError(
            f"{where}: unknown key(s) {', '.join(extra)}; allowed: {', '.join(_REQUIRED + _OPTIONAL)}"
        )
    rid = str(data["id"])
    if not ID_PATTERN.match(rid):
        raise CatalogueError(
            f"{where}: id {rid!r} must start with a letter and hold only letters, digits, . _ -"
        )
    for key in ("title", "source"):
        if not isinstance(data[key], str):
            raise CatalogueError(f"{where}: {rid}: {key} must be text")
    if data["level"] not in LEVELS:
        raise CatalogueError(f"{where}: {rid}: level {data['level']!r} is not one of {', '.join(LEVELS)}")
    if data["actor"] not in ACTORS:
        raise CatalogueError(f"{where}: {rid}: actor {data['actor']!r} is not one of {', '.join(ACTORS)}")
    profiles = _strings(data["profile"], where, "profile")
    bad = [p for p in profiles if p not in PROFILES]
    if bad:
        raise CatalogueError(f"{where}: {rid}: profile {bad[0]!r} is not one of {', '.join(PROFILES)}")
    transactions = _strings(data["transaction"], where, "transaction") if data.get("transaction") else ()
    bad = [t for t in transactions if not TRANSACTION_PATTERN.match(t)]
    if bad:
        raise CatalogueError(
            f"{where}: {rid}: transaction {bad[0]!r} is neither a DMP transaction (TD2.1, TD3.1b) "
            "nor an IHE one (ITI-41)"
        )
    manual = data.get("manual")
    if manual is not None and not (isinstance(manual, str) and manual.strip()):
        raise CatalogueError(f"{where}: {rid}: manual must give the reason as text")
    return Requirement(
        id=rid,
        title=data["title"].strip(),
        source=data["source"].strip(),
        level=data["level"],
        actor=data["actor"],
        profiles=profiles,
        transactions=transactions,
        manual=manual,
        origin=where,
    )


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_file(path: Path) -> list[Requirement]:
    name = _display(path)
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else "?"
        raise CatalogueError(f"{name}:{line}: not valid YAML: {exc.problem}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"{name}: cannot read: {exc}") from exc
    if not isinstance(document, Mapping) or not isinstance(document.get("requirements"), list):
        raise CatalogueError(f"{name}:1: expected a top-level 'requirements:' list")
    return [parse_entry(entry, name) for entry in document["requirements"]]


def load_catalogue(directory: Path | None = None, *, with_rules: bool = True) -> Catalogue:
    """Every ``*.yaml`` of ``directory`` (sorted), checked, then merged with the rule registry."""
    directory = directory or default_directory()
    if not directory.is_dir():
        raise CatalogueError(f"{directory}: requirement catalogue folder not found (set ${REQUIREMENTS_ENV})")
    catalogue = Catalogue()
    for path in sorted(directory.glob("*.y*ml")):
        for requirement in load_file(path):
            previous = catalogue.requirements.get(requirement.id)
            if previous:
                raise CatalogueError(
                    f"{requirement.origin}: duplicate id {requirement.id} "
                    f"(first defined at {previous.origin})"
                )
            catalogue.requirements[requirement.id] = requirement
    if with_rules:
        errors = load_rule_modules()
        catalogue = catalogue.with_rules()
        catalogue.load_errors = errors
    return catalogue


def _import_optional(name: str) -> Any:
    """Import ``name``, or None when it (or a parent package) does not exist yet; other errors propagate."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise


def load_rule_modules() -> list[str]:
    """Import the modules that register rules, so the registry is complete before it is read.

    The artefact kinds, and the modules named ``rules`` or ``rules_*`` (or inside a ``rules`` package) of the
    validator packages; packages that do not exist yet are skipped. A module that fails to import does not
    stop the others (one broken validator must not hide every verdict): its error is returned.
    """
    errors: list[str] = []

    def attempt(name: str) -> Any:
        try:
            return _import_optional(name)
        except Exception as exc:  # any import-time failure of someone else's module
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
            return None

    for package_name in _RULE_PACKAGES:
        package = attempt(package_name)
        if package is None:
            continue
        attempt(f"{package_name}.kind")
        for info in pkgutil.walk_packages(
            getattr(package, "__path__", []),
            prefix=f"{package_name}.",
            onerror=lambda name: errors.append(f"{name}: cannot be imported"),
        ):
            parts = info.name.split(".")
            if any(p == "rules" or p.startswith("rules_") for p in parts[2:]):
                attempt(info.name)
    return errors


@dataclass(slots=True)
class Coverage:
    """Which requirements tests verify (from their ``requirement`` markers), which they don't, and bad IDs."""

    catalogue: Catalogue
    tested: dict[str, list[str]]  # requirement id → test node ids
    unknown: dict[str, list[str]]  # marker id not in the catalogue → test node ids

    @property
    def untested(self) -> list[Requirement]:
        return [r for r in self.catalogue if r.manual is None and r.id not in self.tested]

    @property
    def manual(self) -> list[Requirement]:
        return [r for r in self.catalogue if r.manual is not None]

    @property
    def automated(self) -> list[Requirement]:
        return [r for r in self.catalogue if r.manual is None]

    def by_profile(self) -> dict[str, tuple[int, int, int]]:
        """Per profile: (automated requirements tested, automated requirements, manual requirements)."""
        result = {}
        for profile in PROFILES:
            mine = [r for r in self.catalogue if profile in r.profiles]
            automated = [r for r in mine if r.manual is None]
            result[profile] = (
                sum(1 for r in automated if r.id in self.tested),
                len(automated),
                len(mine) - len(automated),
            )
        return result

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirements": len(self.catalogue),
            "profiles": {
                p: {"tested": t, "automated": a, "manual": m} for p, (t, a, m) in self.by_profile().items()
            },
            "tested": {k: sorted(v) for k, v in sorted(self.tested.items())},
            "untested": [r.id for r in self.untested],
            "manual": {r.id: r.manual for r in self.manual},
            "unknown": {k: sorted(v) for k, v in sorted(self.unknown.items())},
        }


def compute_coverage(catalogue: Catalogue, markers: Mapping[str, Iterable[str]]) -> Coverage:
    """``markers`` maps a test node id to the requirement IDs it carries.

    A requirement is tested when a test carries its ID, or carries the ID of a rule that implements it.
    """
    tested: dict[str, list[str]] = {}
    unknown: dict[str, list[str]] = {}
    for nodeid, ids in markers.items():
        ids = list(ids)
        for rid in catalogue.unknown(ids):
            unknown.setdefault(rid, []).append(nodeid)
        for rid in catalogue.expand(i for i in ids if i in catalogue):
            tested.setdefault(rid, []).append(nodeid)
    return Coverage(catalogue, tested, unknown)
