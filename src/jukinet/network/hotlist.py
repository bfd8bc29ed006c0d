"""The hotlist (R7, docs/ids.md): blocks the national node's operators confirm, published
in the signed directory, obeyed by every node.

A rule of a node's IDS may block a source for a while on that node alone
(``network/ids.py``). An operator of the national node makes it the network's: they
confirm a block of an address or of a node (its certificate) until a time, signing the
order with their emergency key (``jukinet ids block confirm``), or lift one before its
end (``ids block lift``). The national node checks the signature (one operator, as for
halting or isolating: blocking is the safe direction), puts the block into the next
signed directory, and every node's gate refuses the blocked subject from then on. A
block lapses at its ``until`` on every node by its own clock, without a new directory.
Ended blocks stay in the directory as history for ``HISTORY`` (then the renewal drops
them), so ``ids blocks`` and every node can show what was blocked, by whom, and when.

Modelled on MOSIP's hotlist (an id, a subject, an expiry, a status) with the
directory's signature and versioning as its transport.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import json
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jukinet.errors import BlockRefused
from jukinet.network.emergency import Operators, key_id
from jukinet.network.messages import Directory
from jukinet.network.messages_emergency import OrderSignature
from jukinet.network.messages_hotlist import BlockOrder, HotlistEntry, SignedBlock, SubjectKind

__all__ = [
    "HISTORY",
    "LONGEST",
    "accept_block",
    "alert_id",
    "changes",
    "check_block",
    "common_name",
    "new_block",
    "new_lift",
    "prune",
    "refusal_reason",
    "sign_block",
    "subject_of_alert",
]

HISTORY = timedelta(days=30)  # how long an ended block stays in the directory
LONGEST = timedelta(days=90)  # the longest block one confirmation may set


def _body(order: BlockOrder) -> bytes:
    return json.dumps(
        order.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def _window(at: datetime, valid_for: float) -> dict[str, Any]:
    return {
        "id": secrets.token_hex(8),
        "not_before": at - timedelta(seconds=60),  # a minute of clock skew between hosts
        "expires_at": at + timedelta(seconds=valid_for),
    }


def new_block(
    kind: SubjectKind,
    subject: str,
    until: datetime,
    reason: str,
    alert: str | None = None,
    *,
    now: datetime | None = None,
    valid_for: float = 3600.0,
) -> BlockOrder:
    at = now or datetime.now(UTC)
    return BlockOrder(action="block", kind=kind, subject=subject, until=until, reason=reason,
                      alert=alert, **_window(at, valid_for))  # fmt: skip


def new_lift(
    block_id: str, reason: str = "", *, now: datetime | None = None, valid_for: float = 3600.0
) -> BlockOrder:
    at = now or datetime.now(UTC)
    return BlockOrder(action="lift", block_id=block_id, reason=reason, **_window(at, valid_for))


def sign_block(order: BlockOrder, operator: str, key: Ed25519PrivateKey) -> SignedBlock:
    line = OrderSignature(
        operator=operator,
        key_id=key_id(key.public_key()),
        signature=base64.b64encode(key.sign(_body(order))).decode(),
    )
    return SignedBlock(order=order, signatures=[line])


def check_block(signed: SignedBlock, operators: Operators, at: datetime) -> str:
    """The operator who signed ``signed``, once it is valid at ``at``; BlockRefused if not."""
    order = signed.order
    if at < order.not_before:
        raise BlockRefused(f"Block order {order.id} is not valid before "
                           f"{order.not_before.isoformat(timespec='seconds')}.")  # fmt: skip
    if at >= order.expires_at:
        raise BlockRefused(f"Block order {order.id} expired at "
                           f"{order.expires_at.isoformat(timespec='seconds')}.")  # fmt: skip
    signers = []
    for line in signed.signatures:
        public = operators.get(line.operator)
        if public is None or key_id(public) != line.key_id:
            raise BlockRefused(f"Block order {order.id} is signed by an unknown key "
                               f"({line.operator}, {line.key_id}).")  # fmt: skip
        try:
            public.verify(base64.b64decode(line.signature, validate=True), _body(order))
        except (binascii.Error, ValueError, InvalidSignature):
            raise BlockRefused(
                f"The signature of {line.operator} on block order {order.id} does not verify."
            ) from None
        signers.append(line.operator)
    return ",".join(dict.fromkeys(signers))


def accept_block(
    directory: Directory, signed: SignedBlock, operator: str, now: datetime
) -> tuple[Directory, HotlistEntry]:
    """``directory`` with the block or lift of ``signed`` (already checked as signed by
    ``operator``), and the entry it made or ended; BlockRefused if it does not fit."""
    order = signed.order
    hotlist = prune(directory.hotlist, now)
    if any(entry.id == order.id for entry in hotlist):
        raise BlockRefused(f"Block order {order.id} was already accepted.")
    if order.action == "lift":
        found = next((e for e in hotlist if e.id == order.block_id), None)
        if found is None or not found.in_force(now):
            raise BlockRefused(f"No block {order.block_id} is in force to lift.")
        lifted = found.model_copy(update={"lifted_at": now, "lifted_by": operator})
        hotlist = [lifted if e.id == found.id else e for e in hotlist]
        return directory.model_copy(update={"hotlist": hotlist}), lifted
    if order.until is None or order.kind is None or not order.reason.strip():
        raise BlockRefused("A block needs a subject, an end (--until or --for) and a reason.")
    if order.until <= now:
        raise BlockRefused(f"The block would end at {order.until.isoformat(timespec='seconds')}, "
                           "which is past.")  # fmt: skip
    if order.until - now > LONGEST:
        raise BlockRefused(f"A block lasts at most {LONGEST.days} days; confirm it again then.")
    subject, fingerprint = _subject(directory, order.kind, order.subject)
    if any(e.in_force(now) and (e.kind, e.subject) == (order.kind, subject) for e in hotlist):
        raise BlockRefused(f"{subject} is blocked already; lift that block to change it.")
    entry = HotlistEntry(id=order.id, kind=order.kind, subject=subject, fingerprint=fingerprint,
                         reason=order.reason.strip(), alert=order.alert, since=now,
                         until=order.until, confirmed_by=operator)  # fmt: skip
    return directory.model_copy(update={"hotlist": [*hotlist, entry]}), entry


def _subject(directory: Directory, kind: SubjectKind, subject: str) -> tuple[str, str | None]:
    if kind == "node":
        entry = next((e for e in directory.entries if e.node_id == subject), None)
        if entry is None or entry.status != "active" or entry.role == "national":
            raise BlockRefused(f"{subject} is no active node of the directory that can be "
                               "blocked (the national node cannot be).")  # fmt: skip
        return subject, entry.fingerprint
    try:
        address = str(ipaddress.ip_address(subject))
    except ValueError:
        raise BlockRefused(f"{subject!r} is not an IP address.") from None
    members = sorted(
        e.node_id
        for e in directory.entries
        if e.url and e.status == "active" and urlsplit(e.url).hostname == address
    )
    if members:
        raise BlockRefused(f"{address} is the address of {', '.join(members)}; a member is "
                           "blocked by its node id (--node), never by address.")  # fmt: skip
    return address, None


def prune(hotlist: Iterable[HotlistEntry], now: datetime) -> list[HotlistEntry]:
    """The entries still in force or ended less than ``HISTORY`` ago."""
    return [entry for entry in hotlist if entry.ended() + HISTORY > now]


def changes(
    before: Iterable[HotlistEntry], after: Iterable[HotlistEntry]
) -> list[tuple[str, HotlistEntry]]:
    """What a node obeys anew going from ``before`` to ``after``: ("block", entry) for a
    block it did not have, ("lift", entry) for one lifted since (for its audit log)."""
    known = {entry.id: entry for entry in before}
    found: list[tuple[str, HotlistEntry]] = []
    for entry in after:
        was = known.get(entry.id)
        if was is None:
            found.append(("block", entry))
        if entry.lifted_at is not None and (was is None or was.lifted_at is None):
            found.append(("lift", entry))
    return found


def refusal_reason(entry: HotlistEntry) -> str:
    """The refusal a subject of the hotlist gets (R7, docs/ids.md)."""
    return (
        f"{entry.subject} is blocked by the network's hotlist (block {entry.id}: "
        f"{entry.reason}) until {entry.until.isoformat(timespec='seconds')}."
    )


def common_name(subject: str | None) -> str | None:
    """The CN of a certificate subject as ``subject_text`` writes it (``CN=...,O=...``)."""
    for part in (subject or "").split(","):
        if part.startswith("CN="):
            return part[3:]
    return None


def alert_id(row: Mapping[str, Any]) -> str:
    """A short, stable id of one alert of ``ids alerts`` (node, time, rule, key, value)."""
    text = "\n".join(str(row.get(k, "")) for k in ("node", "at", "rule", "key", "value"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def subject_of_alert(row: Mapping[str, Any]) -> tuple[SubjectKind, str]:
    """What blocking the source of an alert blocks: the caller node, if the rule counts
    callers, else the source address; BlockRefused if it names neither."""
    if row.get("key") == "jukinet.caller" and ":" in str(row.get("value", "")):
        return "node", str(row["value"])
    address = row.get("value") if row.get("key") == "source.ip" else row.get("source_ip")
    if address:
        try:
            return "address", str(ipaddress.ip_address(str(address)))
        except ValueError:
            pass
    raise BlockRefused(
        f"Alert {alert_id(row)} ({row.get('rule')}) names no source address or node to block."
    )
