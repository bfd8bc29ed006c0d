"""Every endpoint of every node kind, once, as data (DESIGN.md §9 "Endpoints as data").

One row per endpoint: the node kind that serves it, the method, the path template
(as the route declares it), the roles that may call it and for whom (its scope).
The peer check (``network/peer.py``) admits a caller only as the row of the route
says, and refuses at app creation a route that has no row; the firewall
(``network/firewall.py``) opens a link for every (caller, node) pair some row
admits, and no other. A new endpoint is one new row here, nothing else.

The table is plain data: no framework here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from jukinet.domain.codes import LocalGovernmentCode, prefecture_code_of
from jukinet.errors import ConfigurationError

__all__ = [
    "ENDPOINTS",
    "Endpoint",
    "EndpointTable",
    "Member",
    "Role",
    "Scope",
    "Serves",
]


class Role(StrEnum):
    """A directory member's role; the first three are also the kinds of node that serve."""

    NATIONAL = "national"
    PREFECTURE = "prefecture"
    MUNICIPALITY = "municipality"
    AGENCY = "agency"
    MONITOR = "monitor"


NODE_KINDS = frozenset({Role.NATIONAL, Role.PREFECTURE, Role.MUNICIPALITY})
ANY_MEMBER = frozenset(Role)


class Scope(StrEnum):
    """For whom a caller of an allowed role may call the endpoint: which nodes of the kind."""

    ANY_NODE = "any node of that kind"
    OWN_PREFECTURE = "its own prefecture only"
    SERVED_AGENCY = "a node the legal table says serves it"


class Member(Protocol):
    """What the table needs of a directory entry (``DirectoryEntry`` is one)."""

    @property
    def node_id(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def code(self) -> str: ...


# Whether ``node`` serves ``agency`` (both directory members), as the legal table says.
Serves = Callable[[Member, Member], bool]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One endpoint: served by nodes of ``kind``, callable by ``roles`` within ``scope``."""

    kind: Role
    method: str
    path: str
    roles: frozenset[Role]
    scope: Scope = Scope.ANY_NODE
    purpose: str = ""
    # The largest request body the node reads for it, in bytes (R7): a longer one is
    # refused (413) before, or as soon as, it goes over; nothing is read unsigned.
    max_body: int = 0

    def __post_init__(self) -> None:
        if self.kind not in NODE_KINDS:
            raise ConfigurationError(f"{self.kind} does not serve endpoints; {self} cannot exist.")
        if self.max_body < 0:
            raise ConfigurationError(f"{self}: max_body cannot be negative.")
        if not self.roles:
            raise ConfigurationError(f"{self} names no role that may call it.")
        if self.scope is Scope.OWN_PREFECTURE and (
            self.kind is not Role.PREFECTURE or self.roles != {Role.MUNICIPALITY}
        ):
            raise ConfigurationError(f"{self}: only municipalities have an own prefecture.")
        if self.scope is Scope.SERVED_AGENCY and self.roles != {Role.AGENCY}:
            raise ConfigurationError(f"{self}: only agencies are served by the legal table.")

    def __str__(self) -> str:
        return f"{self.method} {self.path} on a {self.kind} node"

    @property
    def callers(self) -> str:
        """Who may call it, for a person: "a municipality, its own prefecture only"."""
        roles = "any member" if self.roles == ANY_MEMBER else " or ".join(sorted(self.roles))
        return f"{roles}, {self.scope}"

    def admits(self, caller: Member, node: Member, serves: Serves | None = None) -> bool:
        """Whether ``caller`` may call this endpoint on ``node``.

        Without ``serves`` the agency scope is not decided here (the node decides it
        from its legal table when it provides, audited); the firewall passes one.
        """
        if node.role != self.kind or caller.role not in self.roles:
            return False
        if caller.node_id == node.node_id:
            return False
        if self.scope is Scope.OWN_PREFECTURE:
            return _own_prefecture(caller.code) == node.code
        if self.scope is Scope.SERVED_AGENCY:
            return serves is None or serves(caller, node)
        return True


def _own_prefecture(municipality_code: str) -> str:
    return prefecture_code_of(LocalGovernmentCode(municipality_code))


@dataclass(frozen=True)
class EndpointTable:
    """The rows, checked: no two rows for the same endpoint of the same node kind."""

    rows: tuple[Endpoint, ...]

    def __post_init__(self) -> None:
        seen: set[tuple[Role, str, str]] = set()
        for row in self.rows:
            key = (row.kind, row.method, row.path)
            if key in seen:
                raise ConfigurationError(f"{row} has two rows in the endpoint table.")
            seen.add(key)

    def __iter__(self) -> Iterator[Endpoint]:
        return iter(self.rows)

    def row(self, kind: str, method: str, path: str) -> Endpoint | None:
        """The row of ``method path`` on a node of ``kind``, or None."""
        return next(
            (r for r in self.rows if (r.kind, r.method, r.path) == (kind, method, path)), None
        )

    def of_kind(self, kind: str) -> tuple[Endpoint, ...]:
        return tuple(r for r in self.rows if r.kind == kind)

    def plus(self, rows: Iterable[Endpoint]) -> EndpointTable:
        """This table with more rows (a new endpoint is one more row)."""
        return EndpointTable((*self.rows, *rows))


_N, _P, _M = Role.NATIONAL, Role.PREFECTURE, Role.MUNICIPALITY
MONITOR = frozenset({Role.MONITOR})
AGENCY = frozenset({Role.AGENCY})
MUNICIPALITY = frozenset({Role.MUNICIPALITY})
PREFECTURE = frozenset({Role.PREFECTURE})
ANY, OWN_PREFECTURE, SERVED = Scope.ANY_NODE, Scope.OWN_PREFECTURE, Scope.SERVED_AGENCY

# Request body limits (bytes), the last column of the table. A GET has no body
# (max_body 0, the default). One JSON message is small; a batch of identity updates
# holds at most messages.MAX_BATCH updates of at most ~1.5 KB each (name and address
# in UTF-8); a provision batch is one chunk of the agency client: agency/client.py
# BATCH_CHUNK lines of at most BATCH_LINE_BYTES each.
MESSAGE = 16 * 1024
UPDATES = 2 * 1024 * 1024
BATCH_CHUNK_LINES = 20_000
BATCH_LINE_BYTES = 1_024
BATCH = BATCH_CHUNK_LINES * (BATCH_LINE_BYTES + 1)

# fmt: off
ENDPOINTS = EndpointTable((
    # Every member reads the signed directory from the national node (R7) and may ask
    # it whether it is up; on the other nodes only the operations monitor asks.
    Endpoint(_N, "GET", "/health", ANY_MEMBER, ANY, "is the node up"),
    Endpoint(_N, "GET", "/directory", ANY_MEMBER, ANY, "the signed directory (R7)"),
    Endpoint(_P, "GET", "/health", MONITOR, ANY, "is the node up"),
    Endpoint(_P, "GET", "/directory", MONITOR, ANY, "the directory it holds"),
    Endpoint(_M, "GET", "/health", MONITOR, ANY, "is the node up"),
    Endpoint(_M, "GET", "/directory", MONITOR, ANY, "the directory it holds"),
    # Operations: status and reconciliation, by the monitor, on every node.
    Endpoint(_N, "GET", "/status", MONITOR, ANY, "links, backlog, last delivery"),
    Endpoint(_P, "GET", "/status", MONITOR, ANY, "links, backlog, last delivery"),
    Endpoint(_M, "GET", "/status", MONITOR, ANY, "links, backlog, last delivery"),
    Endpoint(_N, "GET", "/identities", MONITOR, ANY, "identities held, by municipality"),
    Endpoint(_P, "GET", "/identities", MONITOR, ANY, "identities held, by municipality"),
    Endpoint(_M, "GET", "/identities", MONITOR, ANY, "its identities (reconcile)"),
    # Identity updates (flow 1, R22): municipality -> its prefecture -> national.
    Endpoint(_P, "POST", "/updates", MUNICIPALITY, OWN_PREFECTURE, "identity updates", UPDATES),
    Endpoint(_N, "POST", "/updates", PREFECTURE, ANY, "identity updates", UPDATES),
    # Resident code pools (R6).
    Endpoint(_N, "POST", "/pools", MUNICIPALITY, ANY, "codes for a municipality", MESSAGE),
    # Provision to the recipients of the legal table (R2, R23, R24).
    Endpoint(_N, "POST", "/provision/lookup", AGENCY, SERVED, "lookup by resident code", MESSAGE),
    Endpoint(_P, "POST", "/provision/lookup", AGENCY, SERVED, "lookup by resident code", MESSAGE),
    Endpoint(_N, "POST", "/provision/verify", AGENCY, SERVED, "match / no match per item", MESSAGE),
    Endpoint(_P, "POST", "/provision/verify", AGENCY, SERVED, "match / no match per item", MESSAGE),
    Endpoint(_N, "POST", "/provision/search", AGENCY, SERVED, "search by the four items", MESSAGE),
    Endpoint(_P, "POST", "/provision/search", AGENCY, SERVED, "search by the four items", MESSAGE),
    Endpoint(_N, "POST", "/provision/batch", AGENCY, SERVED, "status of many codes", BATCH),
    Endpoint(_P, "POST", "/provision/batch", AGENCY, SERVED, "status of many codes", BATCH),
    # Disclosure to a resident (R14): asked by the resident's municipality.
    Endpoint(_N, "POST", "/disclosure", MUNICIPALITY, ANY, "provisions of a person", MESSAGE),
    Endpoint(_P, "POST", "/disclosure", MUNICIPALITY, OWN_PREFECTURE, "provisions of a person",
             MESSAGE),
    # The JPKI certification authority (R15, docs/jpki.md): a municipality has its own
    # residents' card keys certified and revokes their certificates; every member reads
    # the CRL, to verify documents signed with a card.
    Endpoint(_N, "POST", "/jpki/certify", MUNICIPALITY, ANY, "certify a card's keys", MESSAGE),
    Endpoint(_N, "POST", "/jpki/revoke", MUNICIPALITY, ANY, "revoke card certificates", MESSAGE),
    Endpoint(_N, "GET", "/jpki/crl", ANY_MEMBER, ANY, "the JPKI CA's current CRL"),
    # A prefecture verifying a card proof asks whom a certificate was issued to (R14).
    Endpoint(_N, "POST", "/jpki/binding", PREFECTURE, ANY, "a certificate's resident code",
             MESSAGE),
    # Copies of the resident record (docs/copies.md): a municipality, for whoever brings a
    # paper copy to its window, asks the issuing municipality about the copy's QR token.
    # Municipalities only: the firewall gains municipality-to-municipality links and no
    # other (R3); anyone else checks the PDF offline (`jukinet document verify`).
    Endpoint(_M, "POST", "/documents/verify", MUNICIPALITY, ANY, "did it issue this copy",
             MESSAGE),
    # Moving with the card (R21, R3): the move-out certificate information, its
    # cancellation and the move-in notice, municipality to municipality only.
    Endpoint(_M, "POST", "/moving", MUNICIPALITY, ANY,
             "move-out certificate information, cancellation, move-in notice (R21)", MESSAGE),
    # Wide-area copies (R20, 第12条の4; R3): a municipality asks the person's home
    # municipality directly, never through a prefecture or the national node.
    Endpoint(_M, "POST", "/wide-area/records", MUNICIPALITY, ANY, "records for a wide-area copy",
             MESSAGE),
    # Audit checkpoints (R25, docs/audit.md): a municipality has its prefecture cosign
    # each checkpoint of its audit log; a fork is refused.
    Endpoint(_P, "POST", "/audit/cosign", MUNICIPALITY, OWN_PREFECTURE,
             "cosign an audit checkpoint", MESSAGE),
    # --- intrusion detection (R7, docs/ids.md): every node reports its alerts to national
    Endpoint(_N, "POST", "/ids/alerts", PREFECTURE | MUNICIPALITY, ANY,
             "a node's IDS alerts, for the national console", 256 * 1024),
    # The emergency stop (R9, docs/emergency.md): the operations console posts an order
    # its operators signed; it goes into the next signed directory.
    Endpoint(_N, "POST", "/emergency", MONITOR, ANY, "an emergency order: halt, isolate, resume",
             MESSAGE),
    # The hotlist (R7, docs/ids.md): the operations console posts a block an operator
    # confirmed, or lifted; it goes into the next signed directory.
    Endpoint(_N, "POST", "/ids/blocks", MONITOR, ANY, "a hotlist block confirmed or lifted",
             MESSAGE),
    # --- identity nodes witness each other (R14, R25, docs/audit.md "The provision log"):
    # the national node cosigns each prefecture's provision and audit checkpoints, every
    # prefecture the national node's.
    Endpoint(_N, "POST", "/witness/cosign", PREFECTURE, ANY,
             "cosign a prefecture's provision-log or audit checkpoint", MESSAGE),
    Endpoint(_P, "POST", "/witness/cosign", frozenset({_N}), ANY,
             "cosign the national node's provision-log or audit checkpoint", MESSAGE),
    # --- an agency's own provision history (R14's other side, network/messages_history):
    # what it has received, from the node that serves it, and no other agency's.
    Endpoint(_N, "POST", "/provision/history", AGENCY, SERVED, "the agency's own provisions",
             MESSAGE),
    Endpoint(_P, "POST", "/provision/history", AGENCY, SERVED, "the agency's own provisions",
             MESSAGE),
))
# fmt: on
