"""Rule contexts → node selections (pure functions of the compiler)."""

from __future__ import annotations

from conformance.schematron.compiler import context_selection, rewrite_doc_calls, variable_refs


def test_relative_contexts_are_searched_everywhere_and_rooted_ones_kept() -> None:
    keys: dict[tuple[str, str], str] = {}
    assert context_selection(["hl7:a | /hl7:b"], keys) == "(//hl7:a | /hl7:b)"
    assert context_selection(["/"], keys) == "/"


def test_shared_prefixes_are_evaluated_once() -> None:
    selection = context_selection(["//hl7:doc[x]/hl7:a", "//hl7:doc[x]/hl7:b[1]"], {})
    assert selection.count("//hl7:doc[x]") == 1 and "hl7:b[1]" in selection


def test_template_id_contexts_use_a_key() -> None:
    keys: dict[tuple[str, str], str] = {}
    selection = context_selection(["*[cda:templateId/@root='1.2']", "cda:obs[cda:templateId/@root=\"3\"]/cda:code"],
                                  keys)
    assert keys == {("*", "cda:templateId/@root"): "schx:k1"}
    assert "key('schx:k1', '1.2')" in selection and "key('schx:k1', \"3\")[self::cda:obs]" in selection


def test_unusual_contexts_fall_back_to_every_node() -> None:
    assert context_selection(["@code"], {}) == "/ | //node() | //@*"
    assert context_selection(["a except b"], {}) == "/ | //node() | //@*"


def test_doc_calls_are_rewritten_outside_string_literals() -> None:
    assert rewrite_doc_calls("document($x)//a[. = 'doc(y)']") == "schx:document($x)//a[. = 'doc(y)']"
    assert rewrite_doc_calls("doc-available($p) and my-doc(1)") == "schx:doc-available($p) and my-doc(1)"


def test_variable_refs_ignore_bound_and_quoted_names() -> None:
    assert variable_refs("every $i in $items satisfies $i = '$nope'") == {"items"}
