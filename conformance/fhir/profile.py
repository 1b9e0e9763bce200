"""A profile checker driven by the expanded (snapshot) StructureDefinitions of the FHIR packages.

It walks the resource as a JSON dict (not the pydantic model) beside the profile's element tree:
cardinality (empty lists and 0..0 included), fixed[x] and pattern[x] (pattern = subset match), choice
types, slicing (discriminators value, pattern, profile, exists, type; open and closed), bindings against
the local value sets, reference targets (``targetProfile`` → resource type of the resolved target,
aggregation ``contained``), data-type profiles of MHD identifiers and FHIRPath invariants. Base rules that
need no profile (dom-2..6, ext-1, reference format and resolution, Bundle fullUrl) run on every resource.

Findings carry the element id, an instance FHIRPath as location and what was expected and found.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs

from conformance.fhir import invariants
from conformance.fhir.package import FhirPackage
from conformance.fhir.terminology import Terminology, type_profiles
from conformance.findings import Finding, Severity, Source

CORE_SD = "http://hl7.org/fhir/StructureDefinition/"
_RELATIVE_REF = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://[^?#\s]*/)?([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})"
                           r"(?:/_history/[A-Za-z0-9\-.]{1,64})?$")
_URN = re.compile(r"^urn:(?:uuid:[0-9a-fA-F-]{36}|oid:[0-2](?:\.(?:0|[1-9][0-9]*))+)$")
_ABSOLUTE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:)\S+$")
_OPEN_WORLD_SEVERITY = Severity.INFO


# ---------------------------------------------------------------- compiled profiles


@dataclass(slots=True)
class ElementNode:
    id: str
    name: str  # last path segment, e.g. "value[x]"
    min: int
    max: int | None  # None = "*"
    types: list[dict[str, Any]]
    fixed: Any = None
    pattern: Any = None
    binding: dict[str, Any] | None = None
    constraints: list[dict[str, Any]] = field(default_factory=list)
    slicing: dict[str, Any] | None = None
    slices: dict[str, ElementNode] = field(default_factory=dict)
    children: dict[str, ElementNode] = field(default_factory=dict)

    @property
    def is_choice(self) -> bool:
        return self.name.endswith("[x]")

    def type_codes(self) -> set[str]:
        return {t.get("code", "") for t in self.types}

    def descend(self, path: str) -> ElementNode | None:
        """The element at a discriminator path (plain element names: the forms PDSm uses)."""
        node: ElementNode | None = self
        for part in path.split("."):
            if node is not None and part != "$this":
                node = node.children.get(part) or node.children.get(part + "[x]")
        return node


@dataclass(slots=True)
class CompiledProfile:
    url: str
    type: str
    name: str
    root: ElementNode


def _fixed_or_pattern(element: dict[str, Any], prefix: str) -> Any:
    for key, value in element.items():
        if key.startswith(prefix):
            return value
    return None


def compile_profile(definition: dict[str, Any]) -> CompiledProfile:
    nodes: dict[str, ElementNode] = {}
    root: ElementNode | None = None
    for element in definition["snapshot"]["element"]:
        element_id: str = element["id"]
        segments = element_id.split(".")
        last = segments[-1]
        name, _, slice_name = last.partition(":")
        maximum = element.get("max", "*")
        node = ElementNode(
            id=element_id, name=name, min=int(element.get("min", 0)),
            max=None if maximum == "*" else int(maximum), types=element.get("type", []),
            fixed=_fixed_or_pattern(element, "fixed"), pattern=_fixed_or_pattern(element, "pattern"),
            binding=element.get("binding"), constraints=element.get("constraint", []), slicing=element.get("slicing"))
        nodes[element_id] = node
        if len(segments) == 1:
            root = node
            continue
        parent_id = ".".join(segments[:-1])
        if slice_name and "/" not in slice_name:
            base = nodes.get(f"{parent_id}.{name}")
            if base is not None:
                base.slices[slice_name] = node
        elif parent_id in nodes:
            nodes[parent_id].children[name] = node
    if root is None:
        raise ValueError(f"StructureDefinition {definition.get('url')} has no snapshot root")
    return CompiledProfile(definition["url"], definition["type"], definition.get("name", ""), root)


class ProfileRegistry:
    """The StructureDefinitions of the loaded packages, compiled on first use."""

    def __init__(self, packages: Iterable[FhirPackage], terminology: Terminology) -> None:
        self.definitions: dict[str, dict[str, Any]] = {}
        for package in packages:
            for url, definition in package.definitions.items():
                self.definitions.setdefault(url, definition)
        self.terminology = terminology
        self._compiled: dict[str, CompiledProfile] = {}

    def get(self, url: str) -> CompiledProfile | None:
        url = url.split("|", 1)[0]
        if url not in self._compiled:
            definition = self.definitions.get(url)
            if definition is None or "snapshot" not in definition:
                return None
            self._compiled[url] = compile_profile(definition)
        return self._compiled[url]

    def type_of(self, url: str) -> str | None:
        """Resource type a profile constrains, from the package, the local table or the core URL."""
        url = url.split("|", 1)[0]
        if url in self.definitions:
            return self.definitions[url].get("type")
        if url in self.terminology.profile_types:
            return self.terminology.profile_types[url]
        if url.startswith(CORE_SD):
            return url.removeprefix(CORE_SD)
        return None


# ---------------------------------------------------------------- helpers


def pattern_matches(pattern: Any, value: Any) -> bool:
    """FHIR pattern semantics: every element of the pattern is present in the value (lists: each item matched)."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(pattern_matches(v, value.get(k)) for k, v in pattern.items())
    if isinstance(pattern, list):
        return isinstance(value, list) and all(any(pattern_matches(p, v) for v in value) for p in pattern)
    return pattern == value


def _values_at(value: Any, path: str) -> list[Any]:
    current = [value]
    for part in path.split("."):
        if part == "$this":
            continue
        following: list[Any] = []
        for item in current:
            if isinstance(item, dict) and part in item:
                child = item[part]
                following.extend(child if isinstance(child, list) else [child])
        current = following
    return current


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def array(value: Any) -> list[Any]:
    """A JSON array element as a list; anything else (damaged input, reported elsewhere) as empty."""
    return value if isinstance(value, list) else []


def type_of(value: Any) -> str | None:
    """The resourceType of a JSON resource, None when absent or not a string (damaged input)."""
    resource_type = value.get("resourceType") if isinstance(value, dict) else None
    return resource_type if isinstance(resource_type, str) else None


def reference_type(reference: str) -> str | None:
    match = _RELATIVE_REF.match(reference)
    return match.group(1) if match else None


def conditional_identifiers(reference: str) -> list[dict[str, str]]:
    """The identifiers of a conditional reference ``Patient?identifier=system|value`` (the DMP patient in the
    PDSM4DMP examples); empty for any other reference."""
    target, _, query = reference.partition("?")
    if not query or target.rsplit("/", 1)[-1] != "Patient":
        return []
    return [dict(zip(("system", "value"), token.split("|", 1), strict=False))
            for token in parse_qs(query).get("identifier", [])]


# ---------------------------------------------------------------- one validation


@dataclass(slots=True)
class ResourceFrame:
    """The resource being walked and its container (contained references resolve in the container)."""

    resource: dict[str, Any]
    container: dict[str, Any]


class ValidationRun:
    """State of one validation: where findings go, the bundle's resources, caches."""

    def __init__(self, root: dict[str, Any], known: Iterable[dict[str, Any]] = (), closed_world: bool = False) -> None:
        self.root = root
        self.findings: list[Finding] = []
        self.closed_world = closed_world
        self.by_url: dict[str, dict[str, Any]] = {}
        self.stats: dict[str, int] = {"invariants": 0, "invariants_skipped": 0}
        self.conformance: dict[tuple[int, str], bool] = {}
        self.in_progress: set[tuple[int, str]] = set()
        # Findings of a resource against a profile set, located from its resource type: slice matching,
        # reference targets and the walk itself all need them, so each resource is validated once.
        self.validated: dict[tuple[int, tuple[str, ...], int], list[Finding]] = {}
        for resource in known:
            self._index(resource, None)
        if root.get("resourceType") == "Bundle":
            for entry in array(root.get("entry")):
                if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                    self._index(entry["resource"], entry.get("fullUrl"))

    def _index(self, resource: dict[str, Any], full_url: Any) -> None:
        if isinstance(full_url, str):
            self.by_url[full_url] = resource
        if isinstance(resource.get("id"), str) and isinstance(resource.get("resourceType"), str):
            self.by_url.setdefault(f"{resource['resourceType']}/{resource['id']}", resource)

    def resolve(self, reference: str, frame: ResourceFrame) -> dict[str, Any] | None:
        if reference.startswith("#"):
            if reference == "#":
                return frame.container
            wanted = reference[1:]
            return next((c for c in array(frame.container.get("contained"))
                         if isinstance(c, dict) and c.get("id") == wanted), None)
        if reference in self.by_url:
            return self.by_url[reference]
        match = _RELATIVE_REF.match(reference)
        return self.by_url.get(f"{match.group(1)}/{match.group(2)}") if match else None

    def add(self, rule: str, message: str, location: str, hint: str, *, severity: Severity = Severity.ERROR,
            element: str | None = None) -> None:
        extra = {"element": element} if element else {}
        self.findings.append(Finding(rule=rule, severity=severity, source=Source.RULE, message=message,
                                     location=location, hint=hint, extra=extra))


class ProfileChecker:
    def __init__(self, registry: ProfileRegistry) -> None:
        self.registry = registry
        self.terminology = registry.terminology

    # ------------------------------------------------------------ entry points

    def validate(self, resource: dict[str, Any], profiles: Iterable[str], location: str, run: ValidationRun,
                 container: dict[str, Any] | None = None) -> None:
        """Base checks, then every profile of ``profiles`` known to the registry, on ``resource``."""
        frame = ResourceFrame(resource, container or resource)
        self._base_checks(resource, location, run, frame)
        profiled = False
        for url in dict.fromkeys(profiles):
            self._check_profile_type(resource, url, location, run)
            profile = self.registry.get(url)
            if profile is not None and profile.type == resource.get("resourceType"):
                self._check_invariants(profile.root, resource, location, run, frame)
                self._walk(profile.root, resource, location, run, frame)
                profiled = True
        if not profiled:
            self._check_core_invariants(resource, location, run, frame)
        if resource.get("resourceType") == "Bundle" and not profiled:
            # Without a Bundle profile the entries are validated here, against their declared profiles.
            for index, entry in enumerate(array(resource.get("entry"))):
                inner = entry.get("resource") if isinstance(entry, dict) else None
                if isinstance(inner, dict):
                    self.validate_at(inner, self._declared_profiles(inner, []), f"{location}.entry[{index}].resource",
                                     run)

    def conforms(self, resource: dict[str, Any], url: str | None, run: ValidationRun,
                 container: dict[str, Any] | None = None) -> bool:
        """Whether ``resource`` has no error against ``url`` (base checks only for profiles we do not hold)."""
        key = (id(resource), url or "")
        if key in run.conformance:
            return run.conformance[key]
        if key in run.in_progress:  # a reference cycle (DocumentReference ↔ List): assume conformance
            return True
        expected_type = self.registry.type_of(url) if url else None
        if expected_type and expected_type not in ("Resource", resource.get("resourceType")):
            run.conformance[key] = False
            return False
        run.in_progress.add(key)
        try:
            result = not any(f.is_error for f in self._validate_once(resource, [url] if url else [], run, container))
        finally:
            run.in_progress.discard(key)
        run.conformance[key] = result
        return result

    def _validate_once(self, resource: dict[str, Any], profiles: list[str], run: ValidationRun,
                       container: dict[str, Any] | None = None) -> list[Finding]:
        key = (id(resource), tuple(dict.fromkeys(profiles)), id(container) if container is not None else 0)
        cached = run.validated.get(key)
        if cached is None:
            saved, run.findings = run.findings, []
            try:
                self.validate(resource, list(key[1]), type_of(resource) or "?", run, container)
            finally:
                cached, run.findings = run.findings, saved
            run.validated[key] = cached
        return cached

    def validate_at(self, resource: dict[str, Any], profiles: list[str], location: str, run: ValidationRun) -> None:
        """Validate a nested resource (validated once per run) and report its findings at ``location``."""
        prefix = type_of(resource) or "?"
        for finding in self._validate_once(resource, profiles, run):
            where = finding.location or prefix
            relocated = location + where[len(prefix):] if where.startswith(prefix) else where
            run.findings.append(replace(finding, location=relocated, extra=dict(finding.extra)))

    # ------------------------------------------------------------ base rules (no profile needed)

    def _check_profile_type(self, resource: dict[str, Any], url: str, location: str, run: ValidationRun) -> None:
        profile_type = self.registry.type_of(url)
        definition = self.registry.definitions.get(url.split("|", 1)[0])
        logical = definition is not None and definition.get("kind") == "logical"
        if logical or (profile_type and profile_type not in (resource.get("resourceType"), "Resource")):
            run.add("PDSM-PROFILE", f"profile {url} constrains {profile_type}, but the resource is a "
                    f"{resource.get('resourceType')}", location,
                    "declare a profile of this resource type (logical models cannot be instantiated)")

    def _base_checks(self, resource: dict[str, Any], location: str, run: ValidationRun,
                     frame: ResourceFrame) -> None:
        contained = [c for c in array(resource.get("contained")) if isinstance(c, dict)]
        found = scan(resource, location)
        self._dom_rules(resource, contained, found, location, run)
        self._reference_rules(found, run, frame)
        self._extension_rules(found, run)
        for where in found.empties:
            run.add("ele-1", "an element must have a value or children; found an empty object or list", where,
                    "remove the empty element")
        for index, inner in enumerate(contained):
            self.validate(inner, self._declared_profiles(inner, []), f"{location}.contained[{index}]", run,
                          container=resource)
        if resource.get("resourceType") == "Bundle":
            self._bundle_rules(resource, location, run)

    def _dom_rules(self, resource: dict[str, Any], contained: list[dict[str, Any]], found: Scan, location: str,
                   run: ValidationRun) -> None:
        for index, inner in enumerate(contained):
            meta = inner.get("meta") if isinstance(inner.get("meta"), dict) else {}
            if inner.get("contained"):
                run.add("dom-2", "a contained resource SHALL NOT contain additional contained resources "
                        f"(contained[{index}] has {len(inner['contained'])})", location,
                        "move the nested resources up to the container's contained list")
            if "versionId" in meta or "lastUpdated" in meta:
                run.add("dom-4", f"contained[{index}] ({inner.get('resourceType')}/{inner.get('id')}) has "
                        "meta.versionId or meta.lastUpdated; a contained resource SHALL NOT have them", location,
                        "remove meta.versionId and meta.lastUpdated from contained resources")
            if meta.get("security"):
                run.add("dom-5", f"contained[{index}] has meta.security; a contained resource SHALL NOT have "
                        "security labels", location, "put security labels on the container")
        if contained:
            inner_references = [{ref for ref, _ in scan(inner, location).references} for inner in contained]
            references = {ref for ref, _ in found.references}.union(*inner_references)
            for index, inner in enumerate(contained):
                own = inner_references[index]
                if f"#{inner.get('id')}" not in references and "#" not in own:
                    run.add("dom-3", f"the contained resource {inner.get('resourceType')}/{inner.get('id')} is not "
                            "referenced from elsewhere in the containing resource nor does it refer to it",
                            f"{location}.contained[{index}]",
                            "reference it with \"#<id>\" (e.g. from author) or remove it")
        text = resource.get("text")
        if resource.get("resourceType") not in (None, "Bundle", "Binary", "Parameters") and not (
                isinstance(text, dict) and text.get("div")):
            run.add("dom-6", "a resource should have a narrative (text.div) for robust management", location,
                    "add a generated narrative", severity=Severity.WARNING)

    def _reference_rules(self, found: Scan, run: ValidationRun, frame: ResourceFrame) -> None:
        in_bundle = run.root.get("resourceType") == "Bundle"
        in_transaction = in_bundle and run.root.get("type") in ("transaction", "batch")
        for reference, where in found.references:
            if not (reference.startswith("#") or _RELATIVE_REF.match(reference) or _URN.match(reference)
                    or (_ABSOLUTE.match(reference) and "?" not in reference)):
                if "?" in reference and in_transaction:
                    continue  # conditional references are resolved by the server in transactions
                # Outside a bundle a server may still resolve a conditional reference: a warning only.
                run.add("FHIR-REF-FORMAT", f"reference {reference!r} is neither [Type]/[id], an absolute URL, a "
                        "urn:uuid/urn:oid nor a #fragment", where,
                        "use a literal reference; search URLs are only allowed in transaction bundles",
                        severity=Severity.ERROR if in_bundle else Severity.WARNING)
                continue
            if run.resolve(reference, frame) is not None:
                continue
            local = reference.startswith("#") or reference.startswith("urn:")
            severity = Severity.ERROR if local or run.closed_world else _OPEN_WORLD_SEVERITY
            scope = "in the container" if reference.startswith("#") else "in the bundle or the known resources"
            run.add("FHIR-REF-RESOLVE", f"unable to resolve the reference {reference!r} {scope}", where,
                    "add the target (contained, or as a bundle entry with this fullUrl) or fix the reference",
                    severity=severity)

    def _extension_rules(self, found: Scan, run: ValidationRun) -> None:
        for extension, where in found.extensions:
            if "url" not in extension:
                continue  # the structure layer reports a missing url
            if bool(extension.get("extension")) == invariants.has_value_key(extension):
                run.add("ext-1", f"extension {extension.get('url')} must have exactly one of nested extensions "
                        "or a value[x]", where, "keep either the value or the nested extensions")

    def _bundle_rules(self, bundle: dict[str, Any], location: str, run: ValidationRun) -> None:
        for index, entry in enumerate(array(bundle.get("entry"))):
            if not isinstance(entry, dict):
                continue
            full_url = entry.get("fullUrl")
            if isinstance(full_url, str) and not (_URN.match(full_url) or re.match(r"^[a-z][a-z0-9+.-]*://", full_url)):
                run.add("FHIR-BUNDLE-FULLURL", f"the fullUrl must be an absolute URL, not {full_url!r}",
                        f"{location}.entry[{index}]", "use urn:uuid:… or the absolute server URL of the resource")

    # ------------------------------------------------------------ profile walk

    def _walk(self, node: ElementNode, obj: dict[str, Any], location: str, run: ValidationRun,
              frame: ResourceFrame) -> None:
        for name, child in node.children.items():
            if name in ("id", "resourceType", "contained"):  # contained resources: see _base_checks
                continue
            items = list(self._items(child, obj, location))
            self._check_element(child, items, f"{location}.{name}", run, frame)

    @staticmethod
    def _items(node: ElementNode, obj: dict[str, Any], location: str) -> Iterator[tuple[Any, str, str]]:
        if node.is_choice:
            base = node.name[:-3]
            keys = [k for k in obj if k.startswith(base) and k[len(base):len(base) + 1].isupper()]
        else:
            keys = [node.name] if node.name in obj else []
        for key in keys:
            value = obj[key]
            if isinstance(value, list):
                for index, item in enumerate(value):
                    yield item, f"{location}.{key}[{index}]", key
            else:
                yield value, f"{location}.{key}", key

    def _check_element(self, node: ElementNode, items: list[tuple[Any, str, str]], location: str,
                       run: ValidationRun, frame: ResourceFrame) -> None:
        count = len(items)
        if count < node.min:
            run.add("PDSM-CARD", f"{node.id}: minimum cardinality {node.min}, found {count}", location,
                    f"add {node.name} ({node.min}..{'*' if node.max is None else node.max} in the profile)",
                    element=node.id)
        if node.max is not None and count > node.max:
            run.add("PDSM-CARD", f"{node.id}: maximum cardinality {node.max}, found {count}", items[node.max][1],
                    "remove the element" if node.max == 0 else f"keep at most {node.max} {node.name}",
                    element=node.id)
        if node.slicing and node.slices:
            self._check_slicing(node, items, location, run, frame)
            return
        for value, where, key in items:
            self._check_value(node, value, where, key, run, frame)

    def _check_value(self, node: ElementNode, value: Any, location: str, key: str, run: ValidationRun,
                     frame: ResourceFrame) -> None:
        if node.is_choice:
            allowed = {node.name[:-3] + code[:1].upper() + code[1:] for code in node.type_codes()}
            if allowed and key not in allowed:
                run.add("PDSM-TYPE", f"{node.id}: {key} is not allowed, expected {' or '.join(sorted(allowed))}",
                        location, "use one of the types the profile allows", element=node.id)
                return
        if node.fixed is not None and value != node.fixed:
            run.add("PDSM-FIXED", f"{node.id}: expected the fixed value {_short(node.fixed)}, found {_short(value)}",
                    location, "use exactly the value fixed by the profile", element=node.id)
        if node.pattern is not None and not pattern_matches(node.pattern, value):
            run.add("PDSM-PATTERN", f"{node.id}: expected a value matching the pattern {_short(node.pattern)}, "
                    f"found {_short(value)}", location, "include the pattern's elements with these values",
                    element=node.id)
        if node.binding and node.binding.get("valueSet"):
            self._check_binding(node, value, location, run)
        codes = node.type_codes()
        if "Reference" in codes and isinstance(value, dict):
            self._check_reference_target(node, value, location, run, frame)
        if isinstance(value, dict) and "resourceType" in value:
            profiles = [p for t in node.types for p in t.get("profile", [])]
            self.validate_at(value, profiles + self._declared_profiles(value, profiles), location, run)
            return
        for type_ in node.types:
            for profile in type_.get("profile", []):
                if profile in type_profiles():
                    self._check_type_profile(node, profile, value, location, run)
                elif not node.children and isinstance(value, dict) and type_.get("code") == "Extension":
                    # The slice is not expanded in the snapshot: walk the extension's own definition.
                    definition = self.registry.get(profile)
                    if definition is not None:
                        self._walk(definition.root, value, location, run, frame)
        self._check_invariants(node, value, location, run, frame)
        if node.children and isinstance(value, dict):
            self._walk(node, value, location, run, frame)

    @staticmethod
    def _declared_profiles(resource: Any, already: list[str]) -> list[str]:
        meta = resource.get("meta") if isinstance(resource, dict) else None
        if not isinstance(meta, dict):
            return []
        return [p for p in array(meta.get("profile")) if isinstance(p, str) and p not in already]

    # ------------------------------------------------------------ slicing

    def _slice_matches(self, base: ElementNode, slice_node: ElementNode, value: Any, run: ValidationRun) -> bool:
        for discriminator in base.slicing.get("discriminator", []) if base.slicing else []:
            kind, path = discriminator.get("type"), discriminator.get("path", "$this")
            target = slice_node.descend(path) if path != "$this" else slice_node
            actual = _values_at(value, path)
            if kind in ("value", "pattern"):
                expected = None if target is None else (target.fixed if target.fixed is not None else target.pattern)
                if expected is None and path == "url" and slice_node.types:
                    expected = next(iter(slice_node.types[0].get("profile", [])), None)
                if expected is None:  # the value may come from an MHD data-type profile (identifier use)
                    specs = [type_profiles().get(p, {}) for t in slice_node.types for p in t.get("profile", [])]
                    expected = next((s["pattern"][path] for s in specs if path in s.get("pattern", {})), None)
                if expected is None:
                    continue  # this slice does not constrain the discriminator
                if not any(pattern_matches(expected, a) if kind == "pattern" or isinstance(expected, dict)
                           else a == expected for a in actual):
                    return False
            elif kind == "exists":
                if target is not None and (target.min >= 1) != bool(actual):
                    return False
            elif kind == "type":
                codes = target.type_codes() if target is not None else set()
                if not any(type_of(a) in codes for a in actual):
                    return False
            elif kind == "profile":
                profiles = [p for t in (target.types if target else []) for p in t.get("profile", [])]
                codes = target.type_codes() if target else set()
                resources = [a for a in actual if isinstance(a, dict)]
                if not resources or not all(type_of(r) in codes | {"Resource"} for r in resources):
                    return False
                if profiles and not all(any(self.conforms(r, p, run) for p in profiles) for r in resources):
                    return False
        return True

    def _check_slicing(self, node: ElementNode, items: list[tuple[Any, str, str]], location: str,
                       run: ValidationRun, frame: ResourceFrame) -> None:
        assert node.slicing is not None
        matched: dict[str, list[tuple[Any, str, str]]] = {name: [] for name in node.slices}
        closed = node.slicing.get("rules") == "closed"
        for value, where, key in items:
            name = next((n for n, s in node.slices.items() if self._slice_matches(node, s, value, run)), None)
            if name is not None:
                matched[name].append((value, where, key))
                continue
            if closed:
                fallback = self._closest_slice(node, value)
                closest = (f"; closest slice: {fallback.id.rsplit(':', 1)[-1]}, whose errors are reported inside it"
                           if fallback else "")
                run.add("PDSM-SLICE", f"{node.id}: this element matches no slice ({', '.join(node.slices)}) and the "
                        f"slicing is closed{closest}", where, "make the entry conform to one of the slices (resource "
                        "profile and request method): fix the errors reported inside it first", element=node.id)
                self._check_value(fallback or node, value, where, key, run, frame)
                continue
            if node.name in ("extension", "modifierExtension") and isinstance(value, dict):
                self._check_unknown_extension(node, value, where, run)
            self._check_value(node, value, where, key, run, frame)
        for name, slice_node in node.slices.items():
            found = len(matched[name])
            if found < slice_node.min:
                run.add("PDSM-SLICE", f"slice {node.id}:{name}: a matching element is required (min "
                        f"{slice_node.min}), found {found}", location.rsplit(".", 1)[0] if found == 0 else location,
                        f"add an element conforming to the slice {name}", element=slice_node.id)
            if slice_node.max is not None and found > slice_node.max:
                run.add("PDSM-SLICE", f"slice {node.id}:{name}: at most {slice_node.max} allowed, found {found}",
                        matched[name][slice_node.max][1], f"keep at most {slice_node.max} {name}",
                        element=slice_node.id)
            for value, where, key in matched[name]:
                self._check_value(slice_node, value, where, key, run, frame)

    def _closest_slice(self, node: ElementNode, value: Any) -> ElementNode | None:
        """For an entry matching no slice, the slice of the same resource type (the one whose profile the
        resource declares, if any), so that its errors explain why it matches nothing."""
        resource = value.get("resource") if isinstance(value, dict) else None
        resource_type, declared = type_of(resource), set(self._declared_profiles(resource, []))
        candidates = [s for s in node.slices.values()
                      if "resource" in s.children and resource_type in s.children["resource"].type_codes()]
        for slice_node in candidates:
            if declared & {p for t in slice_node.children["resource"].types for p in t.get("profile", [])}:
                return slice_node
        return candidates[0] if candidates else None

    def _check_unknown_extension(self, node: ElementNode, extension: dict[str, Any], location: str,
                                 run: ValidationRun) -> None:
        url = extension.get("url")
        known = {p for s in node.slices.values() for t in s.types for p in t.get("profile", [])}
        if isinstance(url, str) and url.startswith(self.terminology.extension_namespaces) and url not in known \
                and url not in self.registry.definitions:
            run.add("PDSM-EXTENSION", f"the extension {url} is not allowed here ({node.id} allows "
                    f"{', '.join(sorted(known)) or 'no MHD/PDSm extension'})", location,
                    "remove it, or use the extension the PDSm profile defines for this information",
                    element=node.id)

    # ------------------------------------------------------------ bindings, references, types, invariants

    def _check_binding(self, node: ElementNode, value: Any, location: str, run: ValidationRun) -> None:
        binding = node.binding or {}
        strength = binding.get("strength")
        if strength not in ("required", "extensible", "preferred"):
            return
        value_set = self.terminology.value_set(binding.get("valueSet"))
        if value_set is None:
            return
        if isinstance(value, str):
            ok, shown, display_error = value_set.has_code(value), value, None
        else:
            listed = value.get("coding") if isinstance(value, dict) and "coding" in value else [value]
            codings = [c for c in (listed if isinstance(listed, list) else [listed]) if isinstance(c, dict)]
            ok = any(value_set.has_coding(c.get("system"), c.get("code")) for c in codings)
            shown = ", ".join(f"{c.get('system')}#{c.get('code')}" for c in codings) or "no coding"
            display_error = None
            for index, coding in enumerate(codings):
                if self.terminology.code_system(coding.get("system")) is not None:
                    continue  # a held code system judges the display (FHIR-CODE-DISPLAY), with all its designations
                expected = value_set.display_of(coding.get("system"), coding.get("code"))
                if expected and coding.get("display") not in (None, expected):
                    display_error = (index, coding.get("display"), expected)
            if display_error is not None and strength == "required":
                ok = False  # the HL7 validator does not accept a required coding with a wrong display
            if display_error is not None:
                index, found, expected = display_error
                where = f"{location}.coding[{index}].display" if isinstance(value, dict) and "coding" in value \
                    else f"{location}.display"
                run.add("PDSM-DISPLAY", f"{node.id}: wrong display {found!r}, expected {expected!r}", where,
                        "copy the display of the code system", element=node.id)
        if ok or (not value_set.complete and strength != "required"):
            return
        severity = {"required": Severity.ERROR, "extensible": Severity.WARNING}.get(strength, Severity.INFO)
        run.add("PDSM-BINDING", f"{node.id}: {shown} is not in the {strength} value set {value_set.url}", location,
                "use a code of the value set" + ("" if strength == "required" else " when one fits"),
                severity=severity, element=node.id)

    def _check_reference_target(self, node: ElementNode, value: dict[str, Any], location: str,
                                run: ValidationRun, frame: ResourceFrame) -> None:
        reference = value.get("reference")
        if not isinstance(reference, str):
            return
        targets = [p for t in node.types if t.get("code") == "Reference" for p in t.get("targetProfile", [])]
        aggregation = {a for t in node.types for a in t.get("aggregation", [])}
        if aggregation == {"contained"} and not reference.startswith("#"):
            run.add("PDSM-REF-AGGREGATION", f"{node.id}: reference {reference!r} is external, the profile requires "
                    "a contained resource", location, "contain the target and reference it as \"#<id>\"",
                    element=node.id)
        target = run.resolve(reference, frame)
        actual = type_of(target) if target else reference_type(reference)
        allowed = {self.registry.type_of(p) for p in targets} - {None}
        if not actual or not allowed or "Resource" in allowed:
            return
        if actual not in allowed:
            run.add("PDSM-REFTYPE", f"{node.id}: invalid target type, found {actual}, expected one of "
                    f"{sorted(allowed)}", location, "reference a resource of an allowed type", element=node.id)
            return
        candidates = [p for p in targets if self.registry.type_of(p) == actual]
        container = frame.container if reference.startswith("#") else None
        if target is not None and candidates and not any(self.conforms(target, p, run, container)
                                                         for p in candidates):
            run.add("PDSM-REFTYPE", f"{node.id}: the target {reference} matches none of the profiles "
                    f"{', '.join(p.rsplit('/', 1)[-1] for p in candidates)}", location,
                    "fix the errors reported on the target resource", element=node.id)

    def _check_type_profile(self, node: ElementNode, url: str, value: Any, location: str,
                            run: ValidationRun) -> None:
        spec = type_profiles()[url]
        if not isinstance(value, dict):
            return
        for name in spec.get("required", []):
            if name not in value:
                run.add("PDSM-CARD", f"{node.id} ({spec['title']}): {name} is required", location,
                        f"add {name}", element=node.id)
        pattern = spec.get("pattern", {})
        for name, expected in pattern.items():
            if name in value and value[name] != expected:
                run.add("PDSM-PATTERN", f"{node.id} ({spec['title']}): {name} must be {expected!r}, found "
                        f"{value[name]!r}", f"{location}.{name}", f"set {name} to {expected!r}", element=node.id)
        for invariant in spec.get("invariants", []):
            target = value.get(invariant["path"])
            if target is None:
                continue
            run.stats["invariants"] += 1
            if invariants.evaluate(invariant["expression"], target, run.root) is False:
                run.add(invariant["key"], f"constraint {invariant['key']} failed: {invariant['human']} "
                        f"({invariant['expression']}); found {target!r}", f"{location}.{invariant['path']}",
                        invariant["human"], element=node.id)

    def _check_invariants(self, node: ElementNode, value: Any, location: str, run: ValidationRun,
                          frame: ResourceFrame) -> None:
        for constraint in node.constraints:
            self._check_constraint(constraint, value, location, run, frame, node.id)

    def _check_core_invariants(self, resource: dict[str, Any], location: str, run: ValidationRun,
                               frame: ResourceFrame) -> None:
        """The core invariants of a resource type no held profile covers, at each node of their path."""
        for constraint in invariants.core_invariants().get(type_of(resource) or "", []):
            for node, where in invariants.nodes_at(resource, constraint["path"]):
                self._check_constraint(constraint, node, location + where[len(type_of(resource) or ""):], run,
                                       frame, constraint["path"])

    @staticmethod
    def _check_constraint(constraint: dict[str, Any], value: Any, location: str, run: ValidationRun,
                          frame: ResourceFrame, element: str) -> None:
        key, expression = constraint.get("key"), constraint.get("expression")
        if not expression or key in invariants.NATIVE_KEYS:
            return
        run.stats["invariants"] += 1
        outcome = invariants.evaluate(expression, value, frame.resource)
        if outcome is None:
            run.stats["invariants_skipped"] += 1
        elif outcome is False:
            severity = Severity.WARNING if constraint.get("severity") == "warning" else Severity.ERROR
            run.add(key, f"constraint {key} failed: {constraint.get('human', '')} ({expression})", location,
                    constraint.get("human", "see the constraint"), severity=severity, element=element)


# ---------------------------------------------------------------- JSON walks


@dataclass(slots=True)
class Scan:
    """Literal references and extensions of one resource (nested resources excluded), with their FHIRPaths."""

    references: list[tuple[str, str]] = field(default_factory=list)
    extensions: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    empties: list[str] = field(default_factory=list)  # {} and [] values (ele-1), which the R4B models accept


def scan(resource: dict[str, Any], path: str) -> Scan:
    """One pass over ``resource``; contained and Bundle entry resources are left to their own scans."""
    found = Scan()
    parts: list[str] = [path]

    def visit(item: dict[str, Any]) -> None:
        reference = item.get("reference")
        if isinstance(reference, str):
            found.references.append((reference, "".join(parts)))
        for key, child in item.items():
            if key == "contained" or (key == "resource" and type_of(child)):
                continue
            is_extension = key in ("extension", "modifierExtension")
            if child == {} or child == []:
                found.empties.append(f"{''.join(parts)}.{key}")
            elif isinstance(child, dict):
                parts.append(f".{key}")
                visit(child)
                parts.pop()
            elif isinstance(child, list):
                for index, entry in enumerate(child):
                    if isinstance(entry, dict):
                        parts.append(f".{key}[{index}]")
                        if is_extension:
                            found.extensions.append((entry, "".join(parts)))
                        visit(entry)
                        parts.pop()

    visit(resource)
    return found
