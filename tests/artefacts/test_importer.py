"""The importer and cache of official packages: folders, archives, URLs, safety, hashing, listing."""

from __future__ import annotations

import functools
import http.server
import os
import stat
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.artefacts import (
    INSTALL_HINTS,
    Limits,
    PackageError,
    UnsafeArchiveError,
    content_hash,
    find_packages,
    import_package,
    list_packages,
    remove_package,
    resolve_package,
)
from conformance.artefacts.layout import version_from_name
from tests.artefacts.conftest import CISIS_FILES, make_tgz, make_zip, npm_package, prefixed, write_tree


def test_folder_import_registers_a_read_only_copy(cisis_folder: Path, profiles_dir: Path) -> None:
    package = import_package(cisis_folder, profiles_dir)
    assert (package.kind, package.name, package.version) == ("cisis", "TestContenuCDA", "unknown")
    assert package.sha256 == content_hash(cisis_folder)[0]
    assert package.files == len(CISIS_FILES)
    assert package.entry is not None and package.root == package.entry / "content"
    xsd = package.root / "infrastructure/cda/CDA_extended.xsd"
    assert xsd.read_text() == CISIS_FILES["infrastructure/cda/CDA_extended.xsd"]
    assert not xsd.stat().st_mode & stat.S_IWUSR  # never edited in place
    assert list_packages(profiles_dir) == [package]
    assert resolve_package("cisis", profiles_dir) == package


def test_reimporting_the_same_content_returns_the_same_entry(cisis_folder: Path, profiles_dir: Path) -> None:
    first = import_package(cisis_folder, profiles_dir)
    assert import_package(cisis_folder, profiles_dir) == first
    assert len(list_packages(profiles_dir)) == 1


def test_hash_is_stable_and_content_sensitive(cisis_folder: Path, tmp_path: Path) -> None:
    digest = content_hash(cisis_folder)[0]
    copy = write_tree(tmp_path / "elsewhere" / "other-name", CISIS_FILES)
    os.utime(copy / "UPSTREAM-README.md", (0, 0))
    assert content_hash(copy)[0] == digest  # location, folder name and timestamps do not matter
    (copy / "UPSTREAM-README.md").write_text("# changed\n")
    assert content_hash(copy)[0] != digest
    (copy / "UPSTREAM-README.md").write_text(CISIS_FILES["UPSTREAM-README.md"])
    (copy / "jeuxDeValeurs" / "JDV_J07_XdsTypeCode_CISIS.xml").rename(copy / "jeuxDeValeurs" / "renamed.xml")
    assert content_hash(copy)[0] != digest


def test_zip_with_a_top_folder_gives_the_same_package(cisis_folder: Path, profiles_dir: Path,
                                                       tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "TestContenuCDA-3-0-7cd489b.zip", prefixed("TestContenuCDA-3-0-7cd489b", CISIS_FILES))
    package = import_package(archive, profiles_dir)
    assert package.kind == "cisis"
    assert package.version == "7cd489b"  # from the archive's top folder
    assert package.sha256 == content_hash(cisis_folder)[0]


def test_tar_gz_with_a_top_folder(profiles_dir: Path, tmp_path: Path) -> None:
    archive = make_tgz(tmp_path / "cisis.tar.gz", prefixed("TestContenuCDA_2024.01", CISIS_FILES))
    package = import_package(archive, profiles_dir)
    assert (package.kind, package.version) == ("cisis", "2024.01")
    assert (package.root / "schematrons/CI-SIS_LDL-SES_2022.01.sch").is_file()


def test_version_from_git_metadata(cisis_folder: Path, profiles_dir: Path) -> None:
    git = cisis_folder / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text("7cd489b3" + "0" * 32 + "\n")
    package = import_package(cisis_folder, profiles_dir)
    assert package.version == "7cd489b30000"
    assert not (package.root / ".git").exists()  # VCS metadata is not package content


@pytest.mark.parametrize(("name", "expected"), [
    ("TestContenuCDA-3-0-7cd489b3a1b2c3d4e5f60718293a4b5c6d7e8f90.zip", "7cd489b3a1b2c3d4e5f60718293a4b5c6d7e8f90"),
    ("TestContenuCDA-3-0", None),
    ("cisis-v1.4.2.tar.gz", "1.4.2"),
    ("ans-testcontenucda", None),
])
def test_version_from_name(name: str, expected: str | None) -> None:
    assert version_from_name(name) == expected


def test_fhir_npm_package(profiles_dir: Path, tmp_path: Path) -> None:
    package = import_package(make_tgz(tmp_path / "demo.tgz", npm_package()), profiles_dir)
    assert (package.kind, package.name, package.version) == ("fhir", "ans.fhir.fr.demo", "1.2.3")
    assert (package.root / "package.json").is_file()


def test_dmp_lps_folder_with_readme_version(profiles_dir: Path, tmp_path: Path) -> None:
    folder = write_tree(tmp_path / "dmp-lps-package", {
        "wsdl-schema/readme.txt": "  Dossier Médical Personnel\nVersion 2.01.04\n",
        "wsdl-schema/wsdl/XDS.b_DocumentRepository.wsdl": "<definitions/>",
        "examples/TD3.1_requete.xml": "<Envelope/>",
    })
    package = import_package(folder, profiles_dir)
    assert (package.kind, package.version) == ("dmp-lps", "2.01.04")


@pytest.mark.official
def test_official_packages_import(official_dir: Path, profiles_dir: Path) -> None:
    fhir = import_package(next((official_dir / "fhir").glob("*.tgz")), profiles_dir)
    assert fhir.kind == "fhir" and fhir.version != "unknown"
    lps = import_package(official_dir / "dmp-lps-package", profiles_dir)
    assert lps.kind == "dmp-lps"
    assert {p.kind for p in list_packages(profiles_dir)} == {"fhir", "dmp-lps"}


def test_unknown_layout_is_refused_with_a_hint(tmp_path: Path, profiles_dir: Path) -> None:
    folder = write_tree(tmp_path / "random", {"a.txt": "x", "b/c.txt": "y"})
    with pytest.raises(PackageError, match="not a recognised official package") as info:
        import_package(folder, profiles_dir)
    assert "CDA_extended.xsd" in (info.value.hint or "")
    assert list_packages(profiles_dir) == []


@pytest.mark.parametrize("member", ["../evil.txt", "top/../../evil.txt", "/tmp/evil.txt"])
def test_zip_path_traversal_is_refused(member: str, tmp_path: Path, profiles_dir: Path) -> None:
    archive = make_zip(tmp_path / "evil.zip", {**prefixed("top", CISIS_FILES), member: b"owned"})
    with pytest.raises(UnsafeArchiveError, match="outside the extraction folder"):
        import_package(archive, profiles_dir)
    assert not (tmp_path / "evil.txt").exists()
    assert list_packages(profiles_dir) == []


def test_tar_path_traversal_and_outside_links_are_refused(tmp_path: Path, profiles_dir: Path) -> None:
    archive = make_tgz(tmp_path / "evil.tgz", {**prefixed("top", CISIS_FILES), "../evil.txt": b"owned"})
    with pytest.raises(UnsafeArchiveError):
        import_package(archive, profiles_dir)

    def outside_link(bundle: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("top/passwd")
        info.type, info.linkname = tarfile.SYMTYPE, "../../../../etc/passwd"
        bundle.addfile(info)

    archive = make_tgz(tmp_path / "link.tgz", prefixed("top", CISIS_FILES), outside_link)
    with pytest.raises(UnsafeArchiveError):
        import_package(archive, profiles_dir)
    assert not (tmp_path / "evil.txt").exists()


def test_extraction_size_limit(tmp_path: Path, profiles_dir: Path) -> None:
    archive = make_zip(tmp_path / "big.zip", {**prefixed("top", CISIS_FILES), "top/big.bin": b"0" * 100_000})
    with pytest.raises(UnsafeArchiveError, match="exceed"):
        import_package(archive, profiles_dir, limits=Limits(max_extracted_bytes=50_000))


def test_folder_with_a_link_outside_is_refused(cisis_folder: Path, tmp_path: Path, profiles_dir: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    (cisis_folder / "jeuxDeValeurs" / "link.xml").symlink_to(secret)
    with pytest.raises(UnsafeArchiveError, match="outside the package folder"):
        import_package(cisis_folder, profiles_dir)


def test_not_an_archive(tmp_path: Path, profiles_dir: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(PackageError, match="neither a zip nor a tar"):
        import_package(path, profiles_dir)
    with pytest.raises(PackageError, match="no such file"):
        import_package(tmp_path / "missing", profiles_dir)


@pytest.fixture
def local_http(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An http.server on 127.0.0.1 serving a folder, in a thread."""
    served = tmp_path / "www"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()


def test_url_import_from_a_local_server(local_http: tuple[str, Path], profiles_dir: Path,
                                        cisis_folder: Path) -> None:
    base, served = local_http
    make_zip(served / "TestContenuCDA-3-0-abcdef1.zip", prefixed("TestContenuCDA-3-0-abcdef1", CISIS_FILES))
    package = import_package(f"{base}/TestContenuCDA-3-0-abcdef1.zip", profiles_dir)
    assert (package.kind, package.version) == ("cisis", "abcdef1")
    assert package.sha256 == content_hash(cisis_folder)[0]
    assert package.source.startswith(base)


def test_url_errors_are_clear(local_http: tuple[str, Path], profiles_dir: Path) -> None:
    base, served = local_http
    with pytest.raises(PackageError, match="HTTP 404"):
        import_package(f"{base}/missing.zip", profiles_dir)
    (served / "big.zip").write_bytes(b"PK\x03\x04" + b"0" * 5000)
    with pytest.raises(UnsafeArchiveError, match=r"download limit|exceeds"):
        import_package(f"{base}/big.zip", profiles_dir, limits=Limits(max_download_bytes=1000))
    with pytest.raises(PackageError, match="only https"):
        import_package("http://example.org/package.zip", profiles_dir)
    port = base.rsplit(":", 1)[1]
    with pytest.raises(PackageError, match="cannot download") as info:
        import_package(f"https://127.0.0.1:{port}/x.zip", profiles_dir, limits=Limits(timeout_s=5))
    assert "profiles import PATH" in (info.value.hint or "")


def test_list_find_and_remove(cisis_folder: Path, profiles_dir: Path, tmp_path: Path) -> None:
    cisis = import_package(cisis_folder, profiles_dir)
    fhir = import_package(make_tgz(tmp_path / "demo.tgz", npm_package()), profiles_dir)
    assert {p.kind for p in list_packages(profiles_dir)} == {"cisis", "fhir"}
    assert find_packages(cisis.sha256[:8], profiles_dir) == [cisis]
    assert find_packages("fhir", profiles_dir) == [fhir]
    remove_package(cisis)
    assert list_packages(profiles_dir) == [fhir]
    assert resolve_package("cisis", profiles_dir) is None
    assert cisis.entry is not None and not cisis.entry.exists()


def test_no_package_says_which_command_installs_it(profiles_dir: Path) -> None:
    assert resolve_package("cisis", profiles_dir) is None
    assert "dmp-conformance profiles import" in INSTALL_HINTS["cisis"]


def test_explicit_folder_is_used_in_place(cisis_folder: Path, profiles_dir: Path) -> None:
    package = resolve_package("cisis", profiles_dir, explicit=cisis_folder)
    assert package is not None and package.entry is None and package.root == cisis_folder.resolve()
    with pytest.raises(PackageError, match="not a fhir package"):
        resolve_package("fhir", profiles_dir, explicit=cisis_folder)


def test_the_most_recent_import_of_a_kind_is_used(cisis_folder: Path, profiles_dir: Path) -> None:
    first = import_package(cisis_folder, profiles_dir)
    (cisis_folder / "UPSTREAM-README.md").write_text("# TestContenuCDA, newer\n")
    second = import_package(cisis_folder, profiles_dir, version="2025.02")
    assert first.sha256 != second.sha256
    assert resolve_package("cisis", profiles_dir) == second
    assert [p.version for p in list_packages(profiles_dir, "cisis")] == ["2025.02", "unknown"]
