"""A real RFC 3161 time-stamp authority for tests (``openssl ts -reply`` behind a small HTTP
handler), and what an attacker or a careless exporter does to a package: recompute its
manifests and sign it again with some key."""

from __future__ import annotations

import datetime as dt
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from vms.evidence import bag
from vms.evidence.ca import Signer, issue_signer, make_root
from vms.evidence.package import P7S, TSR
from vms.evidence.seal import cert_der_to_pem, request_timestamp, sign_detached


def openssl(*args: str, cwd: Path | None = None) -> str:
    out = subprocess.run(["openssl", *args], capture_output=True, text=True, cwd=cwd,
                         check=False)
    assert out.returncode == 0, f"openssl {' '.join(args)} failed: {out.stderr}"
    return out.stdout


class OpenSslTsa:
    """A TSA made and run with the openssl command line: its own root, a TSA certificate
    with the critical timeStamping usage, and ``openssl ts -reply`` per request."""

    def __init__(self, folder: Path, name: str = "Test TSA") -> None:
        self.dir = folder
        folder.mkdir(parents=True, exist_ok=True)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        openssl("req", "-x509", *ec, "-keyout", "root.key", "-out", "root.pem", "-days", "3650",
                "-subj", f"/O=Test/CN={name} Root", "-addext",
                "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                cwd=folder)
        (folder / "ext.cnf").write_text("basicConstraints=critical,CA:FALSE\n"
                                        "keyUsage=critical,digitalSignature\n"
                                        "extendedKeyUsage=critical,timeStamping\n")
        openssl("req", "-new", *ec, "-keyout", "tsa.key", "-out", "tsa.csr",
                "-subj", f"/O=Test/CN={name}", cwd=folder)
        openssl("x509", "-req", "-in", "tsa.csr", "-CA", "root.pem", "-CAkey", "root.key",
                "-CAcreateserial", "-out", "tsa.crt", "-days", "3650", "-extfile", "ext.cnf",
                cwd=folder)
        (folder / "serial").write_text("01\n")
        (folder / "ts.cnf").write_text(f"""
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = {folder}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.crt
certs = $dir/tsa.crt
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
""")
        self.root_pem = (folder / "root.pem").read_bytes()
        self.requests = 0
        self._lock = threading.Lock()
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with tsa._lock, tempfile.TemporaryDirectory() as tmp:
                    q, r = Path(tmp) / "q.tsq", Path(tmp) / "r.tsr"
                    q.write_bytes(body)
                    done = subprocess.run(["openssl", "ts", "-reply", "-config",
                                           str(folder / "ts.cnf"), "-queryfile", str(q),
                                           "-out", str(r)], capture_output=True, check=False)
                    tsa.requests += 1
                    if done.returncode != 0 or not r.exists():
                        self.send_error(500, done.stderr.decode()[:200])
                        return
                    reply = r.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tsa"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def attacker_signer(like: Signer) -> Signer:
    """A self-made CA and certificate carrying exactly the names of the real ones."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    root_key, _ = make_root("attacker", "attacker root")
    now = dt.datetime.now(dt.UTC)
    issuer = like.cert.issuer
    fake_root = (x509.CertificateBuilder().subject_name(issuer).issuer_name(issuer)
                 .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
                 .not_valid_before(now - dt.timedelta(days=1))
                 .not_valid_after(now + dt.timedelta(days=365))
                 .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                 .sign(root_key, hashes.SHA256()))
    cn = like.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    org = like.cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    key, cert = issue_signer(root_key, fake_root, str(org), str(cn))
    assert cert.subject == like.cert.subject
    return Signer(key, cert, [])


def reseal(package: Path, signer: Signer, tsa_url: str | None) -> None:
    """Recompute every manifest and Payload-Oxum, then sign (and stamp) again."""
    payload: dict[str, bag.Hashes] = {}
    for f in sorted((package / "data").rglob("*")):
        if f.is_file():
            payload[f.relative_to(package).as_posix()] = bag.hash_file(f)
    info = (package / "bag-info.txt").read_text().splitlines()
    oxum = f"{sum(h.size for h in payload.values())}.{len(payload)}"
    info = [f"Payload-Oxum: {oxum}" if line.startswith("Payload-Oxum:") else line
            for line in info]
    (package / "bag-info.txt").write_text("\n".join(info) + "\n")
    tags: dict[str, bag.Hashes] = {}
    for name in ("bagit.txt", "bag-info.txt"):
        tags[name] = bag.hash_file(package / name)
    for alg in bag.ALGORITHMS:
        (package / f"manifest-{alg}.txt").write_text(bag.manifest_text(payload, alg))
        tags[f"manifest-{alg}.txt"] = bag.hash_file(package / f"manifest-{alg}.txt")
    for alg in bag.ALGORITHMS:
        (package / f"tagmanifest-{alg}.txt").write_text(bag.manifest_text(tags, alg))
    p7s = sign_detached((package / "tagmanifest-sha256.txt").read_bytes(), signer)
    (package / "seal" / P7S).write_bytes(p7s)
    for f in (package / "seal" / "chain").glob("*"):
        f.unlink()
    (package / "seal" / "chain" / "signer.crt").write_bytes(signer.cert.public_bytes(
        Encoding.PEM))
    tsr = package / "seal" / TSR
    if tsa_url is None:
        tsr.unlink(missing_ok=True)
        return
    stamp = request_timestamp(p7s, tsa_url)
    tsr.write_bytes(stamp.reply)
    (package / "seal" / "tsa").mkdir(exist_ok=True)
    (package / "seal" / "tsa" / "tsa.crt").write_bytes(cert_der_to_pem(stamp.tsa_certs[0]))
