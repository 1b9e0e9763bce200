"""A throw-away test PKI generated at run time (never committed): CA, signing, authentication and TLS certificates.

The shapes mimic IGC-Santé: a structure seal certificate ("ORG SIGN", digitalSignature + nonRepudiation), a
professional's signature certificate and its authentication-only twin (the key a CPS uses for TLS, which must
never sign a VIHF), a TLS server certificate for 127.0.0.1/localhost and a mutual-TLS client certificate.
Generation costs ~50 ms per RSA-2048 key, so :meth:`TestPki.generate` caches one PKI per name and process.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CertifiedKey", "KeyUsageProfile", "TestPki", "load_certificates"]

_ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class KeyUsageProfile:
    """What a certificate may be used for (keyUsage and extendedKeyUsage)."""

    digital_signature: bool = True
    non_repudiation: bool = False
    key_encipherment: bool = False
    extended: tuple[x509.ObjectIdentifier, ...] = ()


SIGNATURE = KeyUsageProfile(digital_signature=True, non_repudiation=True)
# Authentication-only: what a CPS authentication key looks like from a signer's point of view (no signature usage)
AUTHENTICATION_ONLY = KeyUsageProfile(digital_signature=False, key_encipherment=True,
                                      extended=(ExtendedKeyUsageOID.CLIENT_AUTH,))
TLS_SERVER = KeyUsageProfile(digital_signature=True, key_encipherment=True,
                             extended=(ExtendedKeyUsageOID.SERVER_AUTH,))
TLS_CLIENT = KeyUsageProfile(digital_signature=True, key_encipherment=True,
                             extended=(ExtendedKeyUsageOID.CLIENT_AUTH,))


@dataclass(frozen=True, slots=True)
class CertifiedKey:
    """A private key (loaded object: signxml signs 35× faster than with PEM bytes) and its certificate."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def subject_dn(self) -> str:
        return self.cert.subject.rfc4514_string()

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str, *, org: str = "DMP CONFORMANCE TEST", unit: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    if unit:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _issue(subject: x509.Name, key: rsa.RSAPrivateKey, issuer: x509.Name,
           issuer_key: CertificateIssuerPrivateKeyTypes, *, not_before: dt.datetime, not_after: dt.datetime,
           usage: KeyUsageProfile | None, ca: bool = False, dns: Sequence[str] = (),
           ips: Sequence[str] = ()) -> x509.Certificate:
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(not_before)
               .not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    elif usage is not None:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=usage.digital_signature, content_commitment=usage.non_repudiation,
            key_encipherment=usage.key_encipherment, data_encipherment=False, key_agreement=False,
            key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        if usage.extended:
            builder = builder.add_extension(x509.ExtendedKeyUsage(list(usage.extended)), critical=False)
    if issuer != subject:  # not self-signed: name the issuer's key
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer_key.public_key()), critical=False)  # type: ignore[arg-type]
    if dns or ips:
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass(slots=True)
class TestPki:
    """One CA and the end-entity certificates the bench needs. Create with :meth:`generate`."""

    __test__ = False  # not a pytest test class, despite its name

    name: str
    ca: CertifiedKey
    structure: CertifiedKey  # structure seal ("ORG SIGN"): signs VIHF in indirect mode and XAdES documents
    ps_signature: CertifiedKey  # professional's signature key: signs VIHF in direct mode
    ps_authentication: CertifiedKey  # same professional, authentication-only key: must be refused as a signer
    tls_server: CertifiedKey
    tls_client: CertifiedKey
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    # Identifiers carried in the subjects, reused by builders of test VIHFs
    STRUCTURE_ID = "10B0127189"
    PS_ID_NAT = "810002345678"

    @classmethod
    def generate(cls, name: str = "default") -> TestPki:
        """The PKI called ``name``, generated once per process (distinct names give independent CAs)."""
        return _generate_cached(name)

    @classmethod
    def create(cls, name: str = "default", *, now: dt.datetime | None = None) -> TestPki:
        """A fresh PKI (not cached)."""
        now = now or dt.datetime.now(dt.UTC)
        start, end = now - dt.timedelta(days=30), now + dt.timedelta(days=365)
        ca_key = _new_key()
        ca_name = _name(f"TEST AC {name.upper()} DMP CONFORMANCE", unit="IGC-SANTE TEST")
        ca_cert = _issue(ca_name, ca_key, ca_name, ca_key, not_before=start, not_after=end + 365 * _ONE_DAY,
                         usage=None, ca=True)
        ca = CertifiedKey(ca_key, ca_cert)

        def leaf(subject: x509.Name, usage: KeyUsageProfile, **kw: Sequence[str]) -> CertifiedKey:
            key = _new_key()
            return CertifiedKey(key, _issue(subject, key, ca_name, ca_key, not_before=start, not_after=end,
                                            usage=usage, **kw))

        ps_subject = _name(cls.PS_ID_NAT, org="TEST", unit="Medecin")
        return cls(
            name=name, ca=ca, now=now,
            structure=leaf(_name(f"ORG SIGN {cls.STRUCTURE_ID}", org="CENTRE HOSPITALIER TEST",
                                 unit=cls.STRUCTURE_ID), SIGNATURE),
            ps_signature=leaf(ps_subject, SIGNATURE),
            ps_authentication=leaf(ps_subject, AUTHENTICATION_ONLY),
            tls_server=leaf(_name("localhost"), TLS_SERVER, dns=("localhost",), ips=("127.0.0.1",)),
            tls_client=leaf(_name(f"ORG AUTH_CLI {cls.STRUCTURE_ID}", org="CENTRE HOSPITALIER TEST",
                                  unit=cls.STRUCTURE_ID), TLS_CLIENT),
        )

    def issue(self, subject: x509.Name | str, usage: KeyUsageProfile = SIGNATURE, *,
              not_before: dt.datetime | None = None, not_after: dt.datetime | None = None,
              dns: Sequence[str] = (), ips: Sequence[str] = (), issuer: CertifiedKey | None = None) -> CertifiedKey:
        """A new end-entity certificate from this CA, or from ``issuer`` (an intermediate of :meth:`issue_ca`).

        E.g. an expired one: pass a past ``not_after``.
        """
        if isinstance(subject, str):
            subject = _name(subject)
        issuer = issuer or self.ca
        key = _new_key()
        cert = _issue(subject, key, issuer.cert.subject, issuer.key,
                      not_before=not_before or self.now - dt.timedelta(days=30),
                      not_after=not_after or self.now + dt.timedelta(days=365), usage=usage, dns=dns, ips=ips)
        return CertifiedKey(key, cert)

    def issue_ca(self, name: str) -> CertifiedKey:
        """An intermediate CA under this root (IGC-Santé signs end entities with intermediates, e.g. "TEST AC
        IGC-SANTE ELEMENTAIRE ORGANISATIONS")."""
        key = _new_key()
        cert = _issue(_name(name, unit="IGC-SANTE TEST"), key, self.ca.cert.subject, self.ca.key,
                      not_before=self.now - dt.timedelta(days=30), not_after=self.now + dt.timedelta(days=700),
                      usage=None, ca=True)
        return CertifiedKey(key, cert)

    @property
    def trust(self) -> list[x509.Certificate]:
        """The trust store that accepts this PKI: its CA certificate only."""
        return [self.ca.cert]

    def write(self, directory: Path) -> dict[str, Path]:
        """Write every certificate and key as PEM into ``directory`` (a temporary folder); return the paths."""
        directory.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        for label in ("ca", "structure", "ps_signature", "ps_authentication", "tls_server", "tls_client"):
            item: CertifiedKey = getattr(self, label)
            paths[f"{label}.crt"] = directory / f"{label}.crt"
            paths[f"{label}.crt"].write_bytes(item.cert_pem)
            paths[f"{label}.key"] = directory / f"{label}.key"
            paths[f"{label}.key"].write_bytes(item.key_pem)
            paths[f"{label}.key"].chmod(0o600)
        return paths


@cache
def _generate_cached(name: str) -> TestPki:
    return TestPki.create(name)


def load_certificates(pem_or_der: bytes) -> list[x509.Certificate]:
    """Certificates of a PEM bundle (or one DER certificate): a trust store read from a file."""
    if b"-----BEGIN" in pem_or_der:
        return x509.load_pem_x509_certificates(pem_or_der)
    return [x509.load_der_x509_certificate(pem_or_der)]
