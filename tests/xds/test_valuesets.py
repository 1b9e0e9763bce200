from pathlib import Path

from conformance.xds.valuesets import load_value_sets


def test_project_value_sets_load_without_the_package():
    sets = load_value_sets()
    assert ("10", "1.2.250.1.213.1.1.4.1") in sets["J57_class_code"]
    assert ("MASQUE_PS", "1.2.250.1.213.1.1.4.13") in sets["J58_confidentiality_code"]
    assert ("MASQUE_PS", "2.16.840.1.113883.5.25") not in sets["J58_confidentiality_code"]
    assert sets["J58_confidentiality_code"].complete and not sets["J59_content_type_code"].complete
    assert sets["J57_class_code"].schemes_of("urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1") == {"URN"}


def test_official_svs_lists_replace_ours(cisis_package: Path):
    sets = load_value_sets(cisis_package / "jeuxDeValeurs")
    assert sets["J07_type_code"].source == "JDV_J07_XdsTypeCode_CISIS.xml" and sets["J07_type_code"].complete
    assert ("11488-4", "2.16.840.1.113883.6.1") in sets["J07_type_code"]
    # the DMP-only sets stay project data
    assert sets["J57_class_code"].source == "profiles/xds/valuesets.yaml"


def test_a_missing_or_broken_svs_file_falls_back_to_our_list(tmp_path: Path):
    (tmp_path / "JDV_J07_XdsTypeCode_CISIS.xml").write_text("<not-svs/>")
    sets = load_value_sets(tmp_path)
    assert sets["J07_type_code"].source == "profiles/xds/valuesets.yaml"
