"""The signed directory (R7's "dedicated lines"): who is in the network, as the national
node says, and a node's view of it.

The national node signs the directory's canonical JSON with its Ed25519 key. Every
node verifies that signature with the national public key from its own config,
keeps the newest version it has seen (an older one is a rollback, refused and
logged), and accepts a peer only when the directory lists it as active.

The directory is also the network's heartbeat (R9, docs/emergency.md): it carries an
expiry a few minutes after it was signed, the national node signs a fresh one (the
next version) well before that, and a node whose directory has expired stops all
network traffic, both ways, until a fresh one arrives. It fails closed: a node cut
off from the national node, or fed an old directory, stops rather than goes on.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel

from jukinet.errors import DirectoryRefused, DirectoryRolledBack, EmergencyOrderRefused
from jukinet.network.emergency import Operators, State, state_of
from jukinet.network.hotlist import prune
from jukinet.network.messages import Directory, DirectoryEntry, Role, SignedDirectory
from jukinet.network.messages_hotlist import HotlistEntry
from jukinet.network.pki import fingerprint

__all__ = [
    "DIRECTORY_LIFETIME",
    "DirectoryRefused",
    "DirectoryRolledBack",
    "DirectoryView",
    "canonical",
    "due_for_renewal",
    "file_lock",
    "renew",
    "sign_directory",
    "verify_directory",
]

log = logging.getLogger("jukinet.security")

DIRECTORY_LIFETIME = 600.0  # seconds a directory is valid (R9); [network] directory_lifetime


def renew(
    directory: Directory, key: Ed25519PrivateKey, lifetime: float, now: datetime | None = None
) -> SignedDirectory:
    """The next version of ``directory``, issued ``now``, valid for ``lifetime`` seconds."""
    at = now or datetime.now(UTC)
    fresh = directory.model_copy(
        update={
            "version": directory.version + 1,
            "issued_at": at,
            "expires_at": at + timedelta(seconds=lifetime),
            "hotlist": prune(directory.hotlist, at),  # history kept for HISTORY (R7)
        }
    )
    return sign_directory(fresh, key)


@contextlib.contextmanager
def file_lock(directory_file: Path) -> Iterator[None]:
    """Hold the national node's directory file for one read-modify-write: its renewal,
    an emergency order and ``pki revoke`` (another process) never sign the same version
    twice. An advisory lock (flock) on a file beside it, released when the block ends."""
    with directory_file.with_suffix(".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def due_for_renewal(directory: Directory, lifetime: float, now: datetime | None = None) -> bool:
    """Whether the national node should sign a fresh directory: less than half of a
    lifetime is left, so every node has several refreshes to fetch it before expiry."""
    left = (directory.expires_at - (now or datetime.now(UTC))).total_seconds()
    return left < lifetime / 2


def canonical(model: BaseModel) -> bytes:
    """The bytes a signature covers: JSON with sorted keys, no spaces, UTF-8.

    Dates and times are ISO 8601 as pydantic writes them, so a model that went
    over the wire and was parsed again yields the very same bytes.
    """
    return json.dumps(
        model.model_dump(mode="json"),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")


def sign_directory(directory: Directory, key: Ed25519PrivateKey) -> SignedDirectory:
    signature = key.sign(canonical(directory))
    return SignedDirectory(directory=directory, signature=base64.b64encode(signature).decode())


def verify_directory(signed: SignedDirectory, national_key: Ed25519PublicKey) -> Directory:
    """The directory, once its signature verifies with the national key."""
    try:
        signature = base64.b64decode(signed.signature, validate=True)
        national_key.verify(signature, canonical(signed.directory))
    except (binascii.Error, ValueError, InvalidSignature):
        raise DirectoryRefused(
            f"The directory version {signed.directory.version} is not signed by the national "
            "node's key; it is ignored."
        ) from None
    return signed.directory


class DirectoryView:
    """A node's current directory: the newest correctly signed version it has seen.

    All methods are synchronous and never yield, so within one asyncio loop a
    lookup never sees half an update.
    """

    def __init__(
        self,
        signed: SignedDirectory,
        national_key: Ed25519PublicKey,
        operators: Operators | None = None,
    ) -> None:
        self._national_key = national_key
        self._operators: Operators = operators or {}
        self._directory = verify_directory(signed, national_key)
        self._state = self._orders_of(self._directory)
        self._signed = signed
        self._index = _index(self._directory)
        self._keys: dict[tuple[str, str], Ed25519PublicKey | None] = {}

    @property
    def version(self) -> int:
        return self._directory.version

    @property
    def directory(self) -> Directory:
        return self._directory

    @property
    def state(self) -> State:
        """The emergency orders in force (R9): halted by which order, who is isolated."""
        return self._state

    def _orders_of(self, directory: Directory) -> State:
        try:
            return state_of(directory.orders, self._operators)
        except EmergencyOrderRefused as exc:
            # Fail closed: a directory whose orders do not verify is not taken at all.
            raise DirectoryRefused(
                f"The directory version {directory.version} carries an emergency order "
                f"that does not verify: {exc.message}"
            ) from None

    @property
    def expires_at(self) -> datetime:
        return self._directory.expires_at

    def expired(self, now: datetime | None = None) -> bool:
        """Whether the directory held is past its expiry (then all traffic stops, R9)."""
        return (now or datetime.now(UTC)) >= self._directory.expires_at

    def stop_reason(self, node_id: str, peer: str | None = None) -> str | None:
        """Why ``node_id`` may not exchange with ``peer`` (or with anyone) now, or None.

        Both directions ask it: the gate before it admits a request, the client before
        it sends one (R9). The directory fetch from the national node is exempt (the
        callers decide that), or an expired directory could never be replaced.
        """
        if self.expired():
            return (
                f"The network directory version {self.version} held by {node_id} expired at "
                f"{self._directory.expires_at.isoformat(timespec='seconds')}; network traffic "
                "is stopped until a fresh directory arrives (R9)."
            )
        if self._state.halted is not None:
            return (
                f"The network is halted by emergency order {self._state.halted}; network "
                "traffic is stopped until two operators resume it (R9)."
            )
        for node in (node_id, peer):
            if node is not None and node in self._state.isolated:
                return (
                    f"{node} is isolated by emergency order {self._state.isolated[node]}; its "
                    "network traffic is stopped until two operators resume it (R9)."
                )
        return None

    def blocked(
        self, *, address: str | None = None, node_id: str | None = None, now: datetime | None = None
    ) -> HotlistEntry | None:
        """The hotlist's block in force on ``address`` or on the node ``node_id`` (its
        listed certificate), if any (R7). A block ends at its ``until`` by this node's
        clock, whether or not a newer directory has arrived."""
        at = now or datetime.now(UTC)
        for entry in self._directory.hotlist:
            if not entry.in_force(at):
                continue
            if entry.kind == "address" and address is not None and entry.subject == address:
                return entry
            if entry.kind == "node" and node_id is not None and entry.subject == node_id:
                listed = self._index.get(node_id)
                if listed is None or listed.fingerprint == entry.fingerprint:
                    return entry
        return None

    def hotlist(self, now: datetime | None = None) -> list[HotlistEntry]:
        """The hotlist's blocks in force now."""
        at = now or datetime.now(UTC)
        return [entry for entry in self._directory.hotlist if entry.in_force(at)]

    @property
    def signed(self) -> SignedDirectory:
        """The directory with its signature, e.g. to hand on to another node."""
        return self._signed

    def update(self, signed: SignedDirectory) -> bool:
        """Take ``signed`` if it verifies and is strictly newer; say whether it was taken.

        The same version is ignored (fetched again); an older one is a rollback (a
        replayed old directory could bring a revoked node back, or undo an emergency
        order) and raises DirectoryRolledBack; a bad signature or another network
        raises DirectoryRefused.
        """
        directory = verify_directory(signed, self._national_key)
        if directory.network != self._directory.network:
            raise DirectoryRefused(
                f"The directory is for network {directory.network!r}, "
                f"not {self._directory.network!r}; it is ignored."
            )
        if directory.version < self._directory.version:
            raise DirectoryRolledBack(
                f"The directory version {directory.version} is older than version "
                f"{self._directory.version} held here; a rolled-back directory is refused.",
                version=directory.version,
            )
        if directory.version == self._directory.version:
            return False
        self._state = self._orders_of(directory)
        self._directory = directory
        self._signed = signed
        self._index = _index(directory)
        return True

    def lookup(self, node_id: str) -> DirectoryEntry | None:
        """The node's entry while it is listed and active; None if absent or revoked."""
        entry = self._index.get(node_id)
        if entry is None or entry.status != "active":
            return None
        return entry

    def public_key(self, node_id: str) -> Ed25519PublicKey | None:
        """The Ed25519 key of the node's listed certificate; None unless listed and active."""
        entry = self.lookup(node_id)
        if entry is None:
            return None
        cache_key = (node_id, entry.fingerprint)
        if cache_key not in self._keys:
            self._keys[cache_key] = _entry_key(entry)
        return self._keys[cache_key]

    def entries(
        self, role: Role | None = None, *, include_revoked: bool = False
    ) -> list[DirectoryEntry]:
        """Active entries (all, with ``include_revoked``), of one role if given."""
        return [
            entry
            for entry in self._directory.entries
            if (role is None or entry.role == role)
            and (include_revoked or entry.status == "active")
        ]


def _index(directory: Directory) -> dict[str, DirectoryEntry]:
    return {entry.node_id: entry for entry in directory.entries}


def _entry_key(entry: DirectoryEntry) -> Ed25519PublicKey | None:
    # The national node signed the entry, but a certificate that does not match its
    # own fingerprint or node id is a mistake in the directory; trust neither.
    try:
        cert = x509.load_pem_x509_certificate(entry.cert_pem.encode("ascii"))
    except ValueError:
        log.warning("directory entry %s has an unreadable certificate", entry.node_id)
        return None
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    key = cert.public_key()
    if (
        fingerprint(cert) != entry.fingerprint
        or [n.value for n in names] != [entry.node_id]
        or not isinstance(key, Ed25519PublicKey)
    ):
        log.warning("directory entry %s does not match its certificate", entry.node_id)
        return None
    return key
