"""The workstation's evidence signing key: a local evidence CA, or an imported PKCS#12.

A site without PKI gets a root (kept to issue the next workstation certificate) and a
signing certificate with the document-signing usage (plus emailProtection, so plain
``openssl cms -verify`` accepts it). Keys are PKCS#8, encrypted with a random passphrase
kept in the OS keyring (never in the database, logs or the profile's files), and the files
are readable by their owner only. Whoever may export evidence may sign with them; the root
certificate alone is public and is what recipients are given.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from vms.credentials import CredentialStore
from vms.errors import ConfigError

DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
KEYRING_KEY = "evidence-signing"
ROOT_YEARS, SIGNER_YEARS = 20, 3

SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass
class Signer:
    key: SigningKey
    cert: x509.Certificate
    chain: list[x509.Certificate]  # intermediates, never the root

    @property
    def fingerprint(self) -> str:
        return self.cert.fingerprint(hashes.SHA256()).hex()


def _name(common: str, org: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def why_not_for_evidence(cert: x509.Certificate, key: SigningKey,
                         now: dt.datetime | None = None) -> str:
    """Why ``cert`` cannot sign evidence packages that verify; empty when it can. The same
    demands as the verifier (``vms.evidence.verify``, the package profile): valid now, its
    own key, not a CA, key usage digitalSignature, extended key usage document signing."""
    now = now or dt.datetime.now(dt.UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        return (f"it is valid from {cert.not_valid_before_utc:%d %B %Y} to "
                f"{cert.not_valid_after_utc:%d %B %Y}, not today")
    if cert.public_key().public_bytes(serialization.Encoding.DER,
                                      serialization.PublicFormat.SubjectPublicKeyInfo) != \
            key.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo):
        return "its private key is not the certificate's"
    ext = cert.extensions
    try:
        if ext.get_extension_for_class(x509.BasicConstraints).value.ca:
            return "it is a certificate authority's certificate, not a signing certificate"
    except x509.ExtensionNotFound:  # no constraints: an end-entity certificate
        pass
    try:
        ekus = set(ext.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        ekus = set()
    if DOCUMENT_SIGNING not in ekus:
        words = {ExtendedKeyUsageOID.SERVER_AUTH: "TLS web servers",
                 ExtendedKeyUsageOID.CLIENT_AUTH: "TLS clients",
                 ExtendedKeyUsageOID.CODE_SIGNING: "code signing",
                 ExtendedKeyUsageOID.EMAIL_PROTECTION: "e-mail protection",
                 ExtendedKeyUsageOID.TIME_STAMPING: "time-stamping"}
        named = ", ".join(sorted(words.get(o, o.dotted_string) for o in ekus))
        what = f"it is for {named}" if named else "it names no extended key usage"
        return (f"{what}, not for signing documents (extended key usage document signing, "
                "1.3.6.1.5.5.7.3.36, which the council's evidence CA puts in its certificates)")
    try:
        if not ext.get_extension_for_class(x509.KeyUsage).value.digital_signature:
            return "its key usage does not include digital signatures"
    except x509.ExtensionNotFound:
        return "it has no key usage (digital signatures are required)"
    return ""


def make_root(org: str, common: str, years: int = ROOT_YEARS,
              not_before: dt.datetime | None = None) -> tuple[ec.EllipticCurvePrivateKey,
                                                            x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    name = _name(common, org)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=365 * years))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def issue_signer(root_key: SigningKey, root: x509.Certificate, org: str, common: str, *,
                 not_before: dt.datetime | None = None,
                 days: int = 365 * SIGNER_YEARS) -> tuple[ec.EllipticCurvePrivateKey,
                                                          x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    cert = (x509.CertificateBuilder().subject_name(_name(common, org))
            .issuer_name(root.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False,
                                         False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([DOCUMENT_SIGNING,
                                                  ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                root.public_key()), critical=False)  # type: ignore[arg-type]
            .sign(root_key, hashes.SHA256()))
    return key, cert


class EvidenceKeys:
    """``<profile>/evidence/``: root.crt, root.key (local CA only), signer.crt, signer.key,
    chain.pem (intermediates of an imported certificate)."""

    def __init__(self, data_dir: Path, credentials: CredentialStore) -> None:
        self.folder = data_dir / "evidence"
        self.credentials = credentials

    def _path(self, name: str) -> Path:
        return self.folder / name

    @property
    def ready(self) -> bool:
        return self._path("signer.crt").exists() and self._path("signer.key").exists()

    def _passphrase(self, create: bool = False) -> bytes:
        found = self.credentials.get(KEYRING_KEY)
        if found is None:
            if not create:
                raise ConfigError("the evidence signing key's passphrase is not in this "
                                  "computer's keyring; set the key up again "
                                  "(vms evidence-ca init or import)")
            self.credentials.set(KEYRING_KEY, "evidence", secrets.token_urlsafe(32))
            found = self.credentials.get(KEYRING_KEY)
            assert found is not None
        return found[1].encode()

    def _write(self, name: str, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        tmp = self._path(name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, self._path(name))

    def _write_key(self, name: str, key: SigningKey) -> None:
        enc = serialization.BestAvailableEncryption(self._passphrase(create=True))
        self._write(name, key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8, enc))

    def init(self, org: str, workstation: str, *, force: bool = False) -> Signer:
        """Create a local evidence CA and this workstation's signing certificate."""
        if self.ready and not force:
            raise ConfigError(f"an evidence signing key already exists in {self.folder}; "
                              "use --force to replace it (packages sealed with the old key "
                              "still verify against the old root)")
        root_key, root = make_root(org, f"{org} Evidence Root CA")
        key, cert = issue_signer(root_key, root, org, f"{workstation} evidence export")
        self._write_key("root.key", root_key)
        self._write("root.crt", _pem(root))
        self._write_key("signer.key", key)
        self._write("signer.crt", _pem(cert))
        self._write("chain.pem", b"")
        return Signer(key, cert, [])

    def import_pkcs12(self, data: bytes, password: bytes | None) -> Signer:
        """A certificate and key issued by the council's own evidence CA."""
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, password)
        except ValueError as exc:
            raise ConfigError("the file's password is wrong, or it is not a PKCS#12 (.p12 or "
                              f".pfx) file (the cryptography library says: {exc})") from None
        if key is None or cert is None:
            raise ConfigError("the PKCS#12 file holds no private key and certificate")
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise ConfigError("the PKCS#12 key is neither ECDSA nor RSA")
        unfit = why_not_for_evidence(cert, key)
        if unfit:  # refused now, not when a court's expert verifies a package
            raise ConfigError(f"the certificate in this PKCS#12 file cannot sign evidence: {unfit}")
        roots = [c for c in extra if c.subject == c.issuer]
        chain = [c for c in extra if c.subject != c.issuer]
        self._write_key("signer.key", key)
        self._write("signer.crt", _pem(cert))
        self._write("chain.pem", b"".join(_pem(c) for c in chain))
        if roots:
            self._write("root.crt", _pem(roots[0]))
        elif self._path("root.crt").exists():
            self._path("root.crt").unlink()
        if self._path("root.key").exists():
            self._path("root.key").unlink()
        return Signer(key, cert, chain)

    def signer(self) -> Signer:
        if not self.ready:
            raise ConfigError("this workstation has no evidence signing key yet "
                              "(vms evidence-ca init, or import the council's PKCS#12)")
        key = serialization.load_pem_private_key(self._path("signer.key").read_bytes(),
                                                 self._passphrase())
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise ConfigError("the evidence signing key is neither ECDSA nor RSA")
        cert = x509.load_pem_x509_certificate(self._path("signer.crt").read_bytes())
        chain_pem = self._path("chain.pem")
        chain = x509.load_pem_x509_certificates(chain_pem.read_bytes()) \
            if chain_pem.exists() and chain_pem.stat().st_size else []
        return Signer(key, cert, chain)

    def root_pem(self) -> bytes:
        path = self._path("root.crt")
        if not path.exists():
            raise ConfigError("no evidence root certificate here: create a local evidence CA "
                              "(vms evidence-ca init) or import one with its root")
        return path.read_bytes()
