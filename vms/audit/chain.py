"""The audit chain: how an entry is hashed and sealed, and how a chain is checked.

Each entry's hash covers its fields as stored plus the previous entry's hash, so anyone
with the entries can recompute the chain with SHA-256 alone. Each hash is also sealed
with an HMAC under a key kept in the keyring, so an entry forged by someone who edits the
database (and recomputes the hashes) is still caught. The sequence number is not hashed:
order is what the links say, which lets the checker tell a reordering from an insertion.
Cutting entries off the end leaves a valid chain; checkpoints of the head, kept outside
the table, catch that.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

FORMAT = 1
GENESIS = "0" * 64
# Hashed by position, not by name: "area" was called "site" until schema 6, same hashes.
FIELDS = ("at", "user", "role", "workstation", "via", "action", "outcome", "device_id",
          "device", "area", "detail")


@dataclass
class AuditEntry:
    seq: int
    at: str
    user: str
    role: str
    workstation: str
    via: str
    action: str
    outcome: str
    device_id: int | None
    device: str | None
    area: str | None  # the device's area (its grouping)
    detail: str  # canonical JSON, hashed exactly as stored
    prev_hash: str
    hash: str
    key_id: str
    mac: str

    def details(self) -> dict[str, Any]:
        try:
            value = json.loads(self.detail)
        except ValueError:
            return {"unreadable": self.detail}
        return value if isinstance(value, dict) else {"value": value}

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["detail"] = self.details()
        return d

    def label(self) -> str:
        what = f"{self.action}" + (f" {self.device}" if self.device else "")
        return f"entry {self.seq} ({self.at}, {self.user or '-'}, {what})"


def canonical_detail(detail: dict[str, Any] | None) -> str:
    return json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str)


def entry_hash(values: dict[str, Any], prev_hash: str) -> str:
    payload = [FORMAT, *(values[f] for f in FIELDS), prev_hash]
    blob = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def seal(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"beacon-audit-key" + key).hexdigest()[:12]


@dataclass
class Checkpoint:
    seq: int
    hash: str
    at: str
    key_id: str
    mac: str

    def sealed_text(self) -> str:
        return f"checkpoint|{self.seq}|{self.hash}|{self.at}"


@dataclass
class Problem:
    seq: int | None
    kind: str  # altered | forged | deleted | inserted | reordered | truncated | unsealed | checkpoint
    message: str


@dataclass
class Verdict:
    entries: int
    problems: list[Problem] = field(default_factory=list)
    checkpoints: int = 0
    head: str = GENESIS

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "checkpoints": self.checkpoints,
                "head": self.head, "problems": [asdict(p) for p in self.problems]}


KeyLookup = Callable[[str], bytes | None]


def verify(rows: Sequence[AuditEntry], keys: KeyLookup,
           checkpoints: Sequence[Checkpoint] = ()) -> Verdict:
    """Check every entry's hash, seal and link, then the checkpoints; name each problem."""
    verdict = Verdict(entries=len(rows), checkpoints=len(checkpoints))
    where = {r.hash: i for i, r in enumerate(rows)}
    reordered: set[int] = set()
    missing_keys: set[str] = set()
    flagged: set[int] = set()  # positions whose own contents or seal failed
    add = verdict.problems.append
    for i, r in enumerate(rows):
        values = {f: getattr(r, f) for f in FIELDS}
        if entry_hash(values, r.prev_hash) != r.hash:
            flagged.add(i)
            add(Problem(r.seq, "altered", f"{r.label()} was altered: its contents no longer match "
                                          "its hash"))
        else:
            key = keys(r.key_id)
            if key is None:
                if r.key_id not in missing_keys:
                    missing_keys.add(r.key_id)
                    add(Problem(r.seq, "unsealed", f"{r.label()}: its seal key {r.key_id} is not "
                                                   "on this computer, so its seal cannot be checked"))
            elif not hmac.compare_digest(seal(key, r.hash), r.mac):
                flagged.add(i)
                add(Problem(r.seq, "forged", f"{r.label()} was not written by Beacon VMS on this "
                                             "profile (its seal does not match): forged or inserted"))
        expected = rows[i - 1].hash if i else GENESIS
        if r.prev_hash == expected or i in reordered:
            continue
        j = where.get(r.prev_hash, -1 if r.prev_hash == GENESIS else None)
        if j is None:
            before = rows[i - 1].seq if i else 0
            gap = r.seq - before - 1
            if gap <= 0 and i - 1 in flagged:
                continue  # the entry before was rewritten, hash and all: reported above
            span = (f"entries {before + 1}-{r.seq - 1}" if gap > 1 else f"entry {before + 1}") \
                if gap > 0 else "an entry"
            add(Problem(r.seq, "deleted", f"{span} before {r.label()} {'are' if gap > 1 else 'is'} "
                                          "missing: deleted from the log"))
        elif j > i:
            reordered.update({i, j, j + 1})
            add(Problem(r.seq, "reordered", f"{r.label()} is out of order: it was written after "
                                            f"entry {rows[j].seq}"))
        else:
            extra = [k for k in range(j + 1, i) if k not in reordered]
            if extra:
                names = ", ".join(str(rows[k].seq) for k in extra)
                add(Problem(rows[extra[0]].seq, "inserted",
                            f"entr{'ies' if len(extra) > 1 else 'y'} {names} "
                            f"{'were' if len(extra) > 1 else 'was'} inserted: {r.label()} follows "
                            f"entry {rows[j].seq if j >= 0 else 'none (the start)'} in the chain"))
    if rows:
        verdict.head = rows[-1].hash
    last = rows[-1].seq if rows else 0
    for cp in checkpoints:
        key = keys(cp.key_id)
        if key is not None and not hmac.compare_digest(seal(key, cp.sealed_text()), cp.mac):
            add(Problem(cp.seq, "checkpoint", f"the checkpoint written {cp.at} was altered (its seal "
                                              "does not match)"))
            continue
        if cp.hash in where:
            continue
        if cp.seq > last:
            add(Problem(cp.seq, "truncated",
                        f"the newest entries were cut off: the log ends at entry {last}, but the "
                        f"checkpoint written {cp.at} recorded entry {cp.seq}"))
        else:
            add(Problem(cp.seq, "checkpoint",
                        f"entry {cp.seq} recorded by the checkpoint written {cp.at} is not in the "
                        "log as it was (altered or deleted)"))
    return verdict
