"""The build tree copes with the upstream defects of the ANS package (cda-cisis.md §5) without touching it."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from conformance.findings import Severity
from conformance.schematron.assemble import resolve_case_insensitive
from conformance.schematron.package import BuildTree, synthesise_voc

SVS = ('<RetrieveValueSetResponse xmlns="urn:ihe:iti:svs:2008"><ValueSet id="1.2.250.1.213.1.1.5.471" '
       'displayName="JDV_J07"><ConceptList><Concept code="11490-0" codeSystem="2.16.840.1.113883.6.1" '
       'displayName="Lettre de sortie"/></ConceptList></ValueSet></RetrieveValueSetResponse>')


def make_package(root: Path) -> Path:
    (root / "schematrons" / "profils" / "include").mkdir(parents=True)
    (root / "jeuxDeValeurs").mkdir()
    (root / "jeuxDeValeurs" / "JDV_J07_XdsTypeCode_CISIS.xml").write_text(SVS, encoding="utf-8")
    (root / "jeuxDeValeurs" / "JDV_Condition_ver_status.xml").write_text(SVS.replace(".471", ".999"), encoding="utf-8")
    (root / "jeuxDeValeurs" / "MediaType.xml").write_bytes(b"")
    return root


def test_mirror_never_writes_into_the_package(tmp_path: Path) -> None:
    package = make_package(tmp_path / "pkg")
    tree = BuildTree(package, tmp_path / "cache")
    link = tree.root / "jeuxDeValeurs" / "JDV_J07_XdsTypeCode_CISIS.xml"
    assert link.is_symlink() and link.read_text(encoding="utf-8") == SVS
    tree.ensure_document(tree.root / "schematrons", "../jeuxDeValeurs/Absent.xml")
    assert not (package / "jeuxDeValeurs" / "Absent.xml").exists()


def test_missing_voc_is_synthesised_from_the_svs_file(tmp_path: Path) -> None:
    tree = BuildTree(make_package(tmp_path / "pkg"), tmp_path / "cache")
    path, finding = tree.ensure_document(tree.root / "schematrons" / "profils",
                                         "include/voc-1.2.250.1.213.1.1.5.471-DYNAMIC.xml")
    assert finding is not None and finding.rule == "BENCH-PKG-SYNTH-VALUESET"
    assert finding.severity is Severity.WARNING and "JDV_J07_XdsTypeCode_CISIS.xml" in finding.message
    assert path is not None
    concepts = etree.parse(str(path)).findall("valueSet/conceptList/concept")
    assert [(c.get("code"), c.get("codeSystem")) for c in concepts] == [("11490-0", "2.16.840.1.113883.6.1")]


def test_synthesised_voc_layout_is_the_art_decor_one(tmp_path: Path) -> None:
    svs = tmp_path / "JDV.xml"
    svs.write_text(SVS, encoding="utf-8")
    root = etree.fromstring(synthesise_voc(svs))
    assert root.tag == "valueSets" and root.find("valueSet").get("id") == "1.2.250.1.213.1.1.5.471"


def test_case_alias_empty_and_missing_value_sets(tmp_path: Path) -> None:
    tree = BuildTree(make_package(tmp_path / "pkg"), tmp_path / "cache")
    base = tree.root / "schematrons"
    path, alias = tree.ensure_document(base, "../jeuxDeValeurs/JDV_condition_VER_status.xml")
    assert alias is not None and alias.rule == "BENCH-PKG-CASE-ALIAS" and path is not None and path.is_file()
    path, empty = tree.ensure_document(base, "../jeuxDeValeurs/MediaType.xml")
    assert empty is not None and empty.rule == "BENCH-PKG-EMPTY-FILE"
    assert path is not None and etree.parse(str(path)).getroot().tag.endswith("RetrieveValueSetResponse")
    path, missing = tree.ensure_document(base, "../jeuxDeValeurs/JDV_BilanDiagnostic_CISIS.xml")
    assert missing is not None and missing.rule == "BENCH-PKG-MISSING-FILE" and "EMPTY" in missing.message
    assert tree.ensure_document(base, "../../outside.xml") == (None, None)
    assert tree.ensure_document(base, "../jeuxDeValeurs/JDV_J07_XdsTypeCode_CISIS.xml")[1] is None


def test_case_insensitive_resolution(tmp_path: Path) -> None:
    package = make_package(tmp_path / "pkg")
    assert resolve_case_insensitive(package / "schematrons", "../JEUXdeValeurs/jdv_j07_xdstypecode_cisis.xml") == (
        package / "jeuxDeValeurs" / "JDV_J07_XdsTypeCode_CISIS.xml")
    assert resolve_case_insensitive(package / "schematrons", "../jeuxDeValeurs/nope.xml") is None
