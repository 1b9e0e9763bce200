"""Safe extraction of package archives (.zip, .tar.gz/.tgz) and bounded downloads.

An archive from the Internet is untrusted: no member may land outside the target folder (absolute
paths, ``..``), links may not point outside it, device files are refused, and the total extracted
size and member count are capped so a "zip bomb" cannot fill the disk.
"""

from __future__ import annotations

import ipaddress
import shutil
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import httpx

from conformance.artefacts.errors import PackageError, UnsafeArchiveError

DEFAULT_CISIS_URL = "https://github.com/ansforge/TestContenuCDA-3-0/archive/HEAD.zip"


@dataclass(frozen=True, slots=True)
class Limits:
    max_download_bytes: int = 512 * 1024 * 1024
    max_extracted_bytes: int = 2 * 1024 * 1024 * 1024
    max_members: int = 100_000
    timeout_s: float = 60.0


def archive_format(path: Path) -> str | None:
    """``zip`` or ``tar`` from the magic bytes (a URL's file name says nothing reliable), else None."""
    with path.open("rb") as stream:
        head = stream.read(4)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"\x1f\x8b") or tarfile.is_tarfile(path):
        return "tar"
    return None


def _safe_member_path(name: str, archive: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise UnsafeArchiveError(f"{archive}: member {name!r} would be written outside the extraction folder",
                                 hint="the archive is malformed or hostile; get it from the official source")
    return path


def extract_archive(archive: Path, target: Path, limits: Limits = Limits()) -> None:
    """Extract ``archive`` into the (empty) folder ``target``, refusing anything unsafe."""
    kind = archive_format(archive)
    if kind == "zip":
        _extract_zip(archive, target, limits)
    elif kind == "tar":
        _extract_tar(archive, target, limits)
    else:
        raise PackageError(f"{archive.name}: neither a zip nor a tar.gz archive",
                           hint="give a folder, a .zip, a .tar.gz/.tgz archive or an https URL of one")


def _check_totals(archive: Path, count: int, size: int, limits: Limits) -> None:
    if count > limits.max_members:
        raise UnsafeArchiveError(f"{archive.name}: {count} members exceed the limit of {limits.max_members}")
    if size > limits.max_extracted_bytes:
        raise UnsafeArchiveError(
            f"{archive.name}: {size} bytes once extracted exceed the limit of {limits.max_extracted_bytes}",
            hint="this is far larger than any official package (about 60 MB)")


def _extract_zip(archive: Path, target: Path, limits: Limits) -> None:
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            _check_totals(archive, len(members), sum(m.file_size for m in members), limits)
            written = 0
            for member in members:
                relative = _safe_member_path(member.filename, archive.name)
                if (member.external_attr >> 16) & 0o170000 == 0o120000:
                    # zipfile would write a link as a small text file; a package never needs links
                    raise UnsafeArchiveError(f"{archive.name}: member {member.filename!r} is a symbolic link",
                                             hint="links are not accepted in package archives")
                destination = target.joinpath(*relative.parts)
                if member.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as source, destination.open("wb") as sink:
                    # count real bytes: the sizes in the central directory may lie
                    for block in iter(lambda: source.read(1 << 20), b""):
                        written += len(block)
                        if written > limits.max_extracted_bytes:
                            raise UnsafeArchiveError(f"{archive.name}: extracted data exceed "
                                                     f"{limits.max_extracted_bytes} bytes")
                        sink.write(block)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise PackageError(f"{archive.name}: damaged zip archive: {exc}", hint="download it again") from exc


def _extract_tar(archive: Path, target: Path, limits: Limits) -> None:
    try:
        with tarfile.open(archive, "r:*") as bundle:
            members = bundle.getmembers()
            _check_totals(archive, len(members), sum(m.size for m in members if m.isfile()), limits)
            for member in members:
                _safe_member_path(member.name, archive.name)
                if member.issym() or member.islnk():
                    link = PurePosixPath(member.name).parent / member.linkname if member.issym() \
                        else PurePosixPath(member.linkname)
                    _safe_member_path(str(link), archive.name)
                elif not (member.isfile() or member.isdir()):
                    raise UnsafeArchiveError(f"{archive.name}: member {member.name!r} is a device or fifo")
            # the "data" filter re-checks every member (absolute paths, links outside, permissions)
            bundle.extractall(target, filter="data")
    except tarfile.FilterError as exc:
        raise UnsafeArchiveError(f"{archive.name}: unsafe member refused: {exc}") from exc
    except (tarfile.TarError, EOFError) as exc:
        raise PackageError(f"{archive.name}: damaged tar archive: {exc}", hint="download it again") from exc


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def download(url: str, target: Path, limits: Limits = Limits()) -> Path:
    """Download ``url`` into the file ``target`` (https only, or http on the loopback for local mirrors)."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and _is_loopback(parts.hostname or "")):
        raise PackageError(f"{url}: only https URLs are accepted (plain http only on localhost)",
                           hint="use the https address of the archive, or download it and import the file")
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=limits.timeout_s) as response:
            if response.status_code != 200:
                raise PackageError(f"{url}: the server answered HTTP {response.status_code}",
                                   hint="check the URL, or download the archive and import the file")
            declared = int(response.headers.get("content-length") or 0)
            if declared > limits.max_download_bytes:
                raise UnsafeArchiveError(f"{url}: {declared} bytes exceed the download limit of "
                                         f"{limits.max_download_bytes}")
            received = 0
            with target.open("wb") as sink:
                for block in response.iter_bytes():
                    received += len(block)
                    if received > limits.max_download_bytes:
                        raise UnsafeArchiveError(f"{url}: the download exceeds {limits.max_download_bytes} bytes")
                    sink.write(block)
    except httpx.TransportError as exc:
        raise PackageError(
            f"cannot download {url}: {type(exc).__name__}: {exc}",
            hint="this machine may be offline: download the archive elsewhere, copy it here and run "
                 "`dmp-conformance profiles import PATH`",
        ) from exc
    return target


def copy_tree(source: Path, target: Path) -> None:
    """Copy a package folder; links must stay inside it (their content is copied, not the link)."""
    root = source.resolve()
    for link in (p for p in source.rglob("*") if p.is_symlink()):
        resolved = link.resolve()
        if resolved != root and root not in resolved.parents:
            raise UnsafeArchiveError(f"{link}: symbolic link to {resolved}, outside the package folder",
                                     hint="replace the link by the file it points to, or remove it")
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".git"))
