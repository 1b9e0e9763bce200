"""Step 3 of ISO Schematron compilation: an assembled schema → ONE XSLT 3 stylesheet producing SVRL.

Semantics are those of the ISO skeleton the ANS pipeline uses (queryBinding xslt2, full-path notation 2,
fired rules reported), with three design choices made for speed:

* **No full pass per pattern.** The skeleton walks every node and attribute of the document once per
  pattern (hundreds of passes). Here each pattern selects only the union of its rule contexts (a rule
  context ``P`` matches exactly the nodes of ``//P``) and applies templates in the pattern's own mode;
  template priorities keep the ISO rule "within a pattern a node fires only its first matching rule".
* **Abstract rules become named templates** called where ``<extends>`` stands, instead of being copied
  into every rule (StrucMin has 556 ``extends``; the skeleton output is 10 MB). An abstract rule that
  shares variables with the extending rule is inlined instead, as ISO prescribes.
* **Documents are looked up in a preloaded pool** (``schx:doc``) passed as a parameter, so value sets and
  the 15 MB of terminology RDF are parsed once per process, not once per validated document.

Pattern-level ``<let>`` become global variables (ANS declares its value-set paths in
``<pattern id="variables">`` and relies on them being global, as the skeleton makes them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from conformance.schematron.assemble import SCH

XSL_NS = "http://www.w3.org/1999/XSL/Transform"
SVRL_NS = "http://purl.oclc.org/dsdl/svrl"
SCHX_NS = "urn:dmp-conformance:schematron"  # our helper functions, parameters and modes
XSL = f"{{{XSL_NS}}}"
SVRL = f"{{{SVRL_NS}}}"

COMPILER_VERSION = "2"
 # part of the cache key: bump when the generated XSLT changes

_STRING = re.compile(r"\"(?:[^\"]|\"\")*\"|'(?:[^']|'')*'")
_DOC_CALL = re.compile(r"(?<![\w.\-:$])(doc-available|document|doc)(\s*\()")
_VAR_REF = re.compile(r"\$((?:[A-Za-z_][\w.\-]*:)?[A-Za-z_][\w.\-]*)")
_BOUND = re.compile(r"\$((?:[A-Za-z_][\w.\-]*:)?[A-Za-z_][\w.\-]*)\s+(?:in\b|:=)")
_ROOTED = re.compile(r"^(?:/|\$|(?:id|key|doc|document|root|element-with-id)\s*\()")


class SchematronCompileError(Exception):
    """The assembled schema cannot be translated (unknown abstract rule, bad phase …)."""


def _outside_strings(expression: str) -> Iterator[tuple[bool, str]]:
    """Split an XPath expression into (is_literal, text) chunks."""
    position = 0
    for match in _STRING.finditer(expression):
        if match.start() > position:
            yield False, expression[position:match.start()]
        yield True, match.group()
        position = match.end()
    if position < len(expression):
        yield False, expression[position:]


def rewrite_doc_calls(expression: str) -> str:
    """``doc(x)`` → ``schx:doc(x)`` (and document, doc-available) outside string literals."""
    if "doc" not in expression:
        return expression
    return "".join(chunk if literal else _DOC_CALL.sub(r"schx:\1\2", chunk)
                   for literal, chunk in _outside_strings(expression))


def _masked(expression: str) -> str:
    """The expression with its string literals blanked out (same length): brackets and '/' are then syntax."""
    return "".join("\0" * len(chunk) if literal else chunk for literal, chunk in _outside_strings(expression))


def string_literals(expression: str) -> list[str]:
    return [chunk[1:-1] for literal, chunk in _outside_strings(expression) if literal]


def variable_refs(expression: str) -> set[str]:
    """Variables an expression reads, minus those it binds itself (for/some/every/let)."""
    code = " ".join(chunk for literal, chunk in _outside_strings(expression) if not literal)
    return set(_VAR_REF.findall(code)) - set(_BOUND.findall(code))


def _split_union(pattern: str) -> list[str] | None:
    """Top-level branches of a match pattern, or None when it uses except/intersect at top level."""
    branches: list[str] = []
    depth = 0
    start = 0
    text, masked = pattern, _masked(pattern)
    index = 0
    while index < len(masked):
        char = masked[index]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0:
            if char == "|":
                branches.append(text[start:index])
                start = index + 1
            elif masked.startswith(("union", "except", "intersect"), index) and (
                    index == 0 or not (masked[index - 1].isalnum() or masked[index - 1] in "_-.:$")):
                word = re.match(r"union|except|intersect", masked[index:]).group()
                end = index + len(word)
                if end < len(masked) and (masked[end].isalnum() or masked[end] in "_-.:("):
                    index += 1
                    continue
                if word != "union":
                    return None
                branches.append(text[start:index])
                start = end
                index = end
                continue
        index += 1
    branches.append(text[start:])
    return [b.strip() for b in branches]


_ALL_NODES = "/ | //node() | //@*"
_LAST_STEP = re.compile(r"(?:^|/)\s*([^/]*)$")


def _target_kind(branch: str) -> str:
    """What the last step of a pattern branch matches: element, document or other (attribute, text …)."""
    depth, flat = 0, []
    for char in _masked(branch):  # drop predicates and arguments: only the steps matter
        depth += char in "[("
        if depth == 0:
            flat.append(char)
        depth -= char in "])"
    steps = "".join(flat).strip()
    if steps in ("/", ""):
        return "document" if steps == "/" else "other"
    last = _LAST_STEP.search(steps).group(1).strip()
    if last.startswith(("@", "attribute", "text", "node", "comment", "processing-instruction", "document-node")):
        return "other"
    return "element"


def _steps(path: str) -> list[tuple[str, str]] | None:
    """``//a[x]/b`` → [("//", "a[x]"), ("/", "b")]; None unless the path is rooted at ``/``."""
    masked = _masked(path)
    if not masked.startswith("/"):
        return None
    cuts, depth = [], 0
    for index, char in enumerate(masked):
        depth += char in "[("
        depth -= char in "])"
        if char == "/" and depth == 0:
            cuts.append(index)
    parts = [path[a + 1:b] for a, b in zip(cuts, [*cuts[1:], len(path)], strict=True)]
    steps: list[tuple[str, str]] = []
    separator = "/"
    for part in parts:
        if not part.strip():
            separator = "//"
            continue
        steps.append((separator, part.strip()))
        separator = "/"
    return steps


def _balanced_union(expressions: list[str]) -> str:
    # Saxon's optimiser is quadratic in the depth of a union chain: keep the tree balanced.
    if len(expressions) == 1:
        return expressions[0]
    middle = len(expressions) // 2
    return f"({_balanced_union(expressions[:middle])} | {_balanced_union(expressions[middle:])})"


@dataclass(slots=True)
class _Trie:
    terminal: bool = False
    children: dict[tuple[str, str], _Trie] = field(default_factory=dict)


# `//*[cda:templateId/@root = 'X']`, the context of most CI-SIS rules: an xsl:key lookup instead of a scan of
# every element per pattern (IHE.sch has 231 patterns).
_KEYED_STEP = re.compile(r"^(?P<test>\*|[\w.\-]+:[\w.\-]+)\[\s*(?P<use>[\w.\-:]+(?:/[\w.\-:]+)*/@[\w.\-:]+)\s*=\s*"
                         r"(?P<value>'[^']*'|\"[^\"]*\")\s*\]$")


def _keyed(step: str, keys: dict[tuple[str, str], str]) -> str | None:
    match = _KEYED_STEP.match(step)
    if match is None:
        return None
    name = keys.setdefault(("*", match.group("use")), f"schx:k{len(keys) + 1}")
    lookup = f"key('{name}', {match.group('value')})"
    return lookup if match.group("test") == "*" else f"{lookup}[self::{match.group('test')}]"


Keys = dict[tuple[str, str], str]  # (match, use) → xsl:key name


# `doc(…)//skos:notation[text() = string($code)]` (terminologie.sch, per coded element, in RDF files of up to
# 3.4 MB): an xsl:key lookup in the (preloaded) document instead of a scan of the whole document each time.
_TEXT_LOOKUP = re.compile(r"(?P<doc>schx:doc\()(?P<inner>.*?)\)//(?P<name>[\w.\-]+(?::[\w.\-]+)?)"
                          r"\[\s*text\(\)\s*=\s*(?P<value>string\([^()]*\))\s*\]")


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if depth < 0:
            return False
    return depth == 0


def rewrite_indexed_lookups(expression: str, keys: Keys) -> str:
    def replace(match: re.Match[str]) -> str:
        if not _balanced(match.group("inner")):
            return match.group()
        name = keys.setdefault((match.group("name"), "text()"), f"schx:k{len(keys) + 1}")
        return f"key('{name}', {match.group('value')}, schx:doc({match.group('inner')}))"

    return _TEXT_LOOKUP.sub(replace, expression) if "schx:doc(" in expression else expression


def _trie_expression(trie: _Trie, variable: str, counter: list[int], keys: Keys) -> str:
    parts = [variable] if trie.terminal else []
    for (separator, step), child in trie.children.items():
        counter[0] += 1
        name = f"$schx:n{counter[0]}"
        keyed = _keyed(step, keys) if variable == "/" and separator == "//" else None
        bound = keyed or f"{variable if variable != '/' else ''}{separator}{step}"
        if not child.children:
            parts.append(bound)
        else:
            parts.append(f"(let {name} := {bound} return {_trie_expression(child, name, counter, keys)})")
    return _balanced_union(parts)


def context_selection(patterns: list[str], keys: dict[tuple[str, str], str]) -> str:
    """An expression (from the document node) selecting every node that one of the match patterns matches.

    A rule context ``P`` matches exactly the nodes of ``//P`` (``P`` itself when rooted). The paths of all
    rules of a pattern are merged into a prefix tree so that shared steps are evaluated once (the
    ART-DECOR rules of StrucMin all start with the same ``//hl7:ClinicalDocument[…]`` scan). A pattern
    too unusual to be turned into a selection selects every node and lets template matching decide.
    ``keys`` collects the ``xsl:key`` declarations the selection uses (``use`` expression → key name).
    """
    branches: list[str] = []
    for pattern in patterns:
        split = _split_union(pattern)
        if split is None or not all(split):
            return _ALL_NODES
        branches += split
    if any(_target_kind(b) == "other" for b in branches):
        return _ALL_NODES
    trie = _Trie()
    others: list[str] = []
    for branch in branches:
        path = branch if _ROOTED.match(branch) else f"//{branch}"
        steps = _steps(path)
        if steps is None:
            others.append(path)
            continue
        node = trie
        for step in steps:
            node = node.children.setdefault(step, _Trie())
        node.terminal = True
    parts = others
    if trie.terminal or trie.children:
        parts = [_trie_expression(trie, "/", [0], keys), *others]
    return _balanced_union(parts)


def _escape_avt(value: str) -> str:
    return value.replace("{", "{{").replace("}", "}}")


@dataclass(slots=True)
class _Context:
    """What the translation of one schema needs to know."""

    globals: set[str]
    abstract_rules: dict[str, etree._Element]
    diagnostics: dict[str, etree._Element]
    named_templates: dict[str, str] = field(default_factory=dict)  # abstract rule id → template name
    inline_rules: set[str] = field(default_factory=set)
    pending: list[str] = field(default_factory=list)
    keys: dict[tuple[str, str], str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _x(tag: str, parent: etree._Element | None = None, **attrs: str) -> etree._Element:
    element = etree.Element(f"{XSL}{tag}") if parent is None else etree.SubElement(parent, f"{XSL}{tag}")
    for key, value in attrs.items():
        element.set(key, value)
    return element


def _rule_expressions(rule: etree._Element) -> Iterator[str]:
    for node in rule.iter():
        if isinstance(node, etree._Element):
            for key in ("test", "select", "value", "path"):
                if key in node.attrib:
                    yield node.get(key, "")


def _own_lets(rule: etree._Element) -> set[str]:
    return {let.get("name", "") for let in rule.findall(f"{SCH}let")}


def _free_variables(rule: etree._Element, ctx: _Context) -> set[str]:
    refs: set[str] = set()
    for expression in _rule_expressions(rule):
        refs |= variable_refs(expression)
    # Quantified / for variables are bound inside the expression; they only make us inline (safe).
    return refs - _own_lets(rule) - ctx.globals


def _message(parent: etree._Element, source: etree._Element) -> None:
    """Translate the mixed content of an assert/report/diagnostic into SVRL text instructions."""
    if source.text:
        _x("text", parent).text = source.text
    for child in source:
        if isinstance(child, etree._Element) and isinstance(child.tag, str):
            if child.tag == f"{SCH}value-of":
                _x("value-of", parent, select=rewrite_doc_calls(child.get("select", "")))
            elif child.tag == f"{SCH}name":
                _x("value-of", parent, select=f"name({child.get('path') or '.'})")
            else:  # emph, dir, span and foreign markup: their text
                _message(parent, child)
        if child.tail:
            _x("text", parent).text = child.tail


def _assertion(parent: etree._Element, node: etree._Element, ctx: _Context) -> None:
    is_assert = node.tag == f"{SCH}assert"
    test = node.get("test", "")
    compiled = rewrite_indexed_lookups(rewrite_doc_calls(test), ctx.keys)
    condition = _x("if", parent, test=f"not({compiled})" if is_assert else compiled)
    out = etree.SubElement(condition, f"{SVRL}{'failed-assert' if is_assert else 'successful-report'}")
    out.set("test", _escape_avt(test))
    for key in ("id", "role", "flag", "see"):
        if node.get(key) is not None:
            out.set(key, _escape_avt(node.get(key, "")))
    out.set("location", "{schx:path(.)}")
    text = etree.SubElement(out, f"{SVRL}text")
    _message(text, node)
    for ref in (node.get("diagnostics") or "").split():
        diagnostic = ctx.diagnostics.get(ref)
        if diagnostic is None:
            raise SchematronCompileError(f"assert refers to unknown diagnostic {ref!r}")
        reference = etree.SubElement(out, f"{SVRL}diagnostic-reference", diagnostic=ref)
        _message(reference, diagnostic)


def _rule_body(target: etree._Element, rule: etree._Element, ctx: _Context, *, inline_all: bool) -> None:
    """Lets first (declared before use), then asserts, reports and extends in document order."""
    for let in rule.findall(f"{SCH}let"):
        _x("variable", target, name=let.get("name", ""), select=rewrite_doc_calls(let.get("value") or "()"))
    for child in rule:
        if not isinstance(child, etree._Element):
            continue
        if child.tag in (f"{SCH}assert", f"{SCH}report"):
            _assertion(target, child, ctx)
        elif child.tag == f"{SCH}extends":
            _extends(target, child.get("rule", ""), ctx, inline_all=inline_all)


def _extends(target: etree._Element, rule_id: str, ctx: _Context, *, inline_all: bool) -> None:
    abstract = ctx.abstract_rules.get(rule_id)
    if abstract is None:
        raise SchematronCompileError(f"extends refers to unknown abstract rule {rule_id!r}")
    if inline_all or rule_id in ctx.inline_rules:
        _rule_body(target, abstract, ctx, inline_all=True)
        return
    if rule_id not in ctx.named_templates:
        ctx.named_templates[rule_id] = f"schx:abstract-{len(ctx.named_templates) + 1}"
        ctx.pending.append(rule_id)
    _x("call-template", target, name=ctx.named_templates[rule_id])


def _classify_abstract_rules(ctx: _Context) -> None:
    """Abstract rules that use variables they do not declare must be copied into the extending rule."""
    changed = True
    while changed:
        changed = False
        for rule_id, rule in ctx.abstract_rules.items():
            if rule_id in ctx.inline_rules:
                continue
            extended = [e.get("rule", "") for e in rule.findall(f"{SCH}extends")]
            if _free_variables(rule, ctx) or any(e in ctx.inline_rules for e in extended):
                ctx.inline_rules.add(rule_id)
                changed = True


def _active_patterns(schema: etree._Element, phase: str | None) -> list[etree._Element]:
    patterns = [p for p in schema.iter(f"{SCH}pattern") if p.get("abstract") != "true"]
    chosen = phase or schema.get("defaultPhase") or "#ALL"
    if chosen == "#ALL":
        return patterns
    phases = {p.get("id"): p for p in schema.findall(f"{SCH}phase")}
    if chosen not in phases:
        raise SchematronCompileError(f"phase {chosen!r} is not declared")
    active = {a.get("pattern") for a in phases[chosen].findall(f"{SCH}active")}
    return [p for p in patterns if p.get("id") in active]


def _global_lets(schema: etree._Element, stylesheet: etree._Element, ctx: _Context) -> None:
    declared: dict[str, str] = {}
    lets = [(let, "param") for let in schema.findall(f"{SCH}let")]
    lets += [(let, "variable") for pattern in schema.iter(f"{SCH}pattern") for let in pattern.findall(f"{SCH}let")]
    lets += [(let, "variable") for phase in schema.findall(f"{SCH}phase") for let in phase.findall(f"{SCH}let")]
    for let, kind in lets:
        name, value = let.get("name", ""), let.get("value") or "()"
        if name in declared:
            if declared[name] != value:
                ctx.warnings.append(f"let ${name} declared twice with different values; the first one is kept")
            continue
        declared[name] = value
        _x(kind, stylesheet, name=name, select=rewrite_doc_calls(value))
    ctx.globals = set(declared)


_HELPERS = f"""<xsl:stylesheet version="3.0" xmlns:xsl="{XSL_NS}" xmlns:schx="{SCHX_NS}"
  xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:map="http://www.w3.org/2005/xpath-functions/map">
 <xsl:param name="schx:preloaded" as="map(xs:string, document-node())" select="map{{}}"/>
 <xsl:function name="schx:doc" as="document-node()?">
  <xsl:param name="href" as="item()?"/>
  <xsl:sequence select="if (empty($href)) then () else
     let $uri := resolve-uri(string($href), static-base-uri()) return
     if (map:contains($schx:preloaded, $uri)) then $schx:preloaded($uri) else doc($uri)"/>
 </xsl:function>
 <xsl:function name="schx:doc-available" as="xs:boolean">
  <xsl:param name="href" as="item()?"/>
  <xsl:sequence select="exists($href) and
     (let $uri := resolve-uri(string($href), static-base-uri())
      return map:contains($schx:preloaded, $uri) or doc-available($uri))"/>
 </xsl:function>
 <xsl:function name="schx:document" as="document-node()*">
  <xsl:param name="hrefs" as="item()*"/>
  <xsl:sequence select="for $h in $hrefs return
     if ($h instance of node()) then doc(resolve-uri(string($h), base-uri($h))) else schx:doc($h)"/>
 </xsl:function>
 <!-- SVRL location, ISO skeleton full-path notation 2; the skeleton gives the document node the path of
      its document element (measured on the golden verdicts: "/ClinicalDocument"). -->
 <xsl:function name="schx:path" as="xs:string">
  <xsl:param name="node" as="node()"/>
  <xsl:sequence select="if ($node instance of document-node()) then string-join($node/*!schx:path(.))
     else string-join(($node/ancestor-or-self::*!(
        let $n := name(.), $p := count(preceding-sibling::*[name() = $n])
        return concat('/', $n, if ($p) then concat('[', $p + 1, ']') else '')),
        if ($node instance of element()) then () else concat('/@', name($node))))"/>
 </xsl:function>
</xsl:stylesheet>"""


@dataclass(slots=True)
class CompiledSchema:
    xslt: bytes
    active_patterns: int
    rules: int
    warnings: list[str]


def compile_schema(schema: etree._Element, *, phase: str | None = None) -> CompiledSchema:
    """Translate an assembled schema (see :func:`assemble`) into an XSLT 3 stylesheet."""
    stylesheet = etree.fromstring(_HELPERS.encode())
    for ns in schema.findall(f"{SCH}ns"):
        prefix, uri = ns.get("prefix", ""), ns.get("uri", "")
        if prefix in ("xsl", "schx", "svrl", "map", "xs") and stylesheet.nsmap.get(prefix) not in (None, uri):
            raise SchematronCompileError(f"sch:ns prefix {prefix!r} is reserved")
        if prefix != "xml" and prefix not in stylesheet.nsmap:
            stylesheet = _with_namespace(stylesheet, prefix, uri)
    stylesheet = _with_namespace(stylesheet, "svrl", SVRL_NS)
    stylesheet.set("exclude-result-prefixes", "#all")
    _x("output", stylesheet, method="xml", indent="no", encoding="UTF-8")

    ctx = _Context(
        globals=set(),
        abstract_rules={r.get("id", ""): r for r in schema.iter(f"{SCH}rule") if r.get("abstract") == "true"},
        diagnostics={d.get("id", ""): d for d in schema.iter(f"{SCH}diagnostic")},
    )
    _global_lets(schema, stylesheet, ctx)
    _classify_abstract_rules(ctx)

    root_template = _x("template", stylesheet, match="/")
    output = etree.SubElement(root_template, f"{SVRL}schematron-output")
    title = schema.find(f"{SCH}title")
    if title is not None:
        output.set("title", _escape_avt(" ".join("".join(title.itertext()).split())))
    if schema.get("schemaVersion"):
        output.set("schemaVersion", _escape_avt(schema.get("schemaVersion", "")))

    patterns = _active_patterns(schema, phase)
    n_rules = 0
    for index, pattern in enumerate(patterns):
        active = etree.SubElement(output, f"{SVRL}active-pattern")
        for key in ("id", "name"):
            if pattern.get(key):
                active.set(key, _escape_avt(pattern.get(key, "")))
        if not pattern.get("name") and pattern.find(f"{SCH}title") is not None:
            active.set("name", _escape_avt(" ".join("".join(pattern.find(f"{SCH}title").itertext()).split())))
        rules = [r for r in pattern.findall(f"{SCH}rule") if r.get("abstract") != "true" and r.get("context")]
        if not rules:
            continue
        mode = f"schx:M{index}"
        _x("mode", stylesheet, name=mode, **{"on-no-match": "deep-skip"})
        contexts = [rewrite_doc_calls(r.get("context", "")) for r in rules]
        _x("apply-templates", output, select=context_selection(contexts, ctx.keys), mode=mode)
        for position, rule in enumerate(rules):
            n_rules += 1
            context = rewrite_doc_calls(rule.get("context", ""))
            template = _x("template", stylesheet, match=context, mode=mode, priority=str(1000 + len(rules) - position))
            fired = etree.SubElement(template, f"{SVRL}fired-rule", context=_escape_avt(rule.get("context", "")))
            for key in ("id", "role", "flag"):
                if rule.get(key):
                    fired.set(key, _escape_avt(rule.get(key, "")))
            # A rule reading variables it does not declare relies on those of the rules it extends.
            _rule_body(template, rule, ctx, inline_all=bool(_free_variables(rule, ctx)))
    while ctx.pending:
        rule_id = ctx.pending.pop()
        named = _x("template", stylesheet, name=ctx.named_templates[rule_id])
        _rule_body(named, ctx.abstract_rules[rule_id], ctx, inline_all=False)
    for (match, use), name in ctx.keys.items():
        _x("key", stylesheet, name=name, match=match, use=use)
    return CompiledSchema(
        xslt=etree.tostring(stylesheet, xml_declaration=True, encoding="UTF-8"),
        active_patterns=len(patterns), rules=n_rules, warnings=ctx.warnings,
    )


def _with_namespace(element: etree._Element, prefix: str, uri: str) -> etree._Element:
    """lxml cannot add a namespace declaration in place: rebuild the root with the extra binding."""
    nsmap = dict(element.nsmap)
    nsmap[prefix] = uri
    clone = etree.Element(element.tag, nsmap=nsmap, attrib=dict(element.attrib))
    clone.text = element.text
    for child in element:
        clone.append(child)
    return clone
