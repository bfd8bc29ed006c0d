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

    def __post_init__(self) -> None:
        if self.kind not in NODE_KINDS:
            raise ConfigurationError(f"{self.kind} does not serve endpoints; {self} cannot exist.")
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
_MONITOR = frozenset({Role.MONITOR})
_AGENCY = frozenset({Role.AGENCY})
_MUNICIPALITY = frozenset({Role.MUNICIPALITY})


def _every_node(*rows: tuple[str, str, frozenset[Role], str]) -> Iterator[Endpoint]:
    for kind in (_N, _P, _M):
        for method, path, roles, purpose in rows:
            yield Endpoint(kind, method, path, roles, Scope.ANY_NODE, purpose)


def _providers(*rows: tuple[str, str, frozenset[Role], Scope, str]) -> Iterator[Endpoint]:
    for kind in (_N, _P):
        for method, path, roles, scope, purpose in rows:
            if scope is Scope.OWN_PREFECTURE and kind is _N:
                scope = Scope.ANY_NODE  # there is one national node
            yield Endpoint(kind, method, path, roles, scope, purpose)


ENDPOINTS = EndpointTable(
    (
        # Every member reads the directory from the national node, and may ask it
        # whether it is up; elsewhere only the operations monitor asks.
        Endpoint(_N, "GET", "/health", ANY_MEMBER, purpose="is the node up"),
        Endpoint(_N, "GET", "/directory", ANY_MEMBER, purpose="the signed directory (R7)"),
        Endpoint(_P, "GET", "/health", _MONITOR, purpose="is the node up"),
        Endpoint(_P, "GET", "/directory", _MONITOR, purpose="the directory it holds"),
        Endpoint(_M, "GET", "/health", _MONITOR, purpose="is the node up"),
        Endpoint(_M, "GET", "/directory", _MONITOR, purpose="the directory it holds"),
        *_every_node(
            ("GET", "/status", _MONITOR, "links, backlog, last delivery"),
            ("GET", "/identities", _MONITOR, "the identities it holds (reconcile)"),
        ),
        # Identity updates (flow 1): municipality -> its prefecture -> national (R22).
        Endpoint(_P, "POST", "/updates", _MUNICIPALITY, Scope.OWN_PREFECTURE, "updates (R22)"),
        Endpoint(_N, "POST", "/updates", frozenset({_P}), purpose="updates (R22)"),
        Endpoint(_N, "POST", "/pools", _MUNICIPALITY, purpose="resident code pools (R6)"),
        # Provision to agencies (R2, R23, R24) and disclosure to residents (R14).
        *_providers(
            ("POST", "/provision/lookup", _AGENCY, Scope.SERVED_AGENCY, "lookup (R2)"),
            ("POST", "/provision/verify", _AGENCY, Scope.SERVED_AGENCY, "verify (R23)"),
            ("POST", "/provision/search", _AGENCY, Scope.SERVED_AGENCY, "search (R23)"),
            ("POST", "/provision/batch", _AGENCY, Scope.SERVED_AGENCY, "batch (R24)"),
            ("POST", "/disclosure", _MUNICIPALITY, Scope.OWN_PREFECTURE, "disclosure (R14)"),
        ),
    )
)
