"""Sealing: a detached CMS signature over ``tagmanifest-sha256.txt`` and an RFC 3161
time-stamp over the signature's bytes, both in forms ``openssl`` checks on its own.

The signature is made by ``cryptography``'s PKCS#7 builder (contentType, messageDigest and
signingTime signed; DER; detached). The time-stamp request is built and the reply read with
``asn1crypto``, which reads OpenSSL's not-quite-DER replies; the reply is stored exactly as
received, since any re-encoding would break its signature.
"""

from __future__ import annotations

import hashlib
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass

from asn1crypto import algos, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from vms.errors import (
    TimestampError,  # defined with every other error
    )
from vms.evidence.ca import Signer

TSA_TIMEOUT_S = 20.0


def sign_detached(data: bytes, signer: Signer) -> bytes:
    builder = pkcs7.PKCS7SignatureBuilder().set_data(data).add_signer(
        signer.cert, signer.key, hashes.SHA256())
    for c in signer.chain:
        builder = builder.add_certificate(c)
    return builder.sign(serialization.Encoding.DER,
                        [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary])


@dataclass
class Stamp:
    reply: bytes  # the TimeStampResp, DER, as the TSA sent it
    gen_time: str  # UTC ISO
    tsa_certs: list[bytes]  # DER, the TSA's own first, never a self-signed root


def request_timestamp(data: bytes, url: str, timeout: float = TSA_TIMEOUT_S) -> Stamp:
    """Ask the TSA at ``url`` to time-stamp SHA-256(``data``), with a nonce and its certificate."""
    digest = hashlib.sha256(data).digest()
    nonce = secrets.randbits(63)
    req = tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": tsp.MessageImprint({
            "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "hashed_message": digest}),
        "nonce": nonce,
        "cert_req": True,
    })
    if not url.lower().startswith(("http://", "https://")):
        raise TimestampError(f"the time-stamp authority must be an http(s) URL, not {url!r}")
    http = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        url, data=req.dump(), method="POST",
        headers={"Content-Type": "application/timestamp-query"})
    try:
        with urllib.request.urlopen(http, timeout=timeout) as resp:  # noqa: S310 (a configured URL)
            body = resp.read(1 << 20)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise TimestampError(f"the time-stamp authority at {url} could not be reached: "
                             f"{getattr(exc, 'reason', exc)}") from None
    return read_reply(body, digest, nonce)


def read_reply(body: bytes, digest: bytes | None = None, nonce: int | None = None) -> Stamp:
    try:
        reply = tsp.TimeStampResp.load(body)
        status = reply["status"]["status"].native
        if status not in ("granted", "granted_with_mods"):
            text = reply["status"]["status_string"].native
            raise TimestampError(f"the time-stamp authority refused: {status} {text or ''}")
        signed = reply["time_stamp_token"]["content"]
        info = signed["encap_content_info"]["content"].parsed
        imprint = info["message_imprint"]["hashed_message"].native
        gen_time = info["gen_time"].native
        got_nonce = info["nonce"].native
        certs = [c.chosen for c in signed["certificates"] or [] if c.name == "certificate"]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TimestampError(f"the time-stamp reply could not be read ({exc})") from None
    if digest is not None and imprint != digest:
        raise TimestampError("the time-stamp authority stamped different data")
    if nonce is not None and got_nonce != nonce:
        raise TimestampError("the time-stamp reply does not answer our request (nonce)")
    sid = signed["signer_infos"][0]["sid"]
    own: list[bytes] = []
    rest: list[bytes] = []
    for c in certs:
        if c.self_signed in ("maybe", "yes"):
            continue  # a root is never shipped in a package
        if sid.name == "issuer_and_serial_number":
            match = (c.issuer == sid.chosen["issuer"]
                     and c.serial_number == sid.chosen["serial_number"].native)
        else:
            match = c.key_identifier == sid.chosen.native
        (own if match else rest).append(c.dump())
    return Stamp(body, gen_time.isoformat(), own + rest)


def cert_der_to_pem(der: bytes) -> bytes:
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
