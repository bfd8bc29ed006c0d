"""Who may change which identity: docs/network.md, "Identity updates", step 5."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jukinet.domain.reasons import Family, reasons_of
from jukinet.errors import UpdateRefused
from jukinet.network.endpoints import Member
from jukinet.network.messages import (
    IdentityUpdate,
)

# --- authority (docs/network.md, step 5) ----------------------------------------


ENTRY_REASONS = frozenset(r.code for r in reasons_of(Family.ENTRY))


# Who delivered a batch (``jukinet.network.peer.Peer``): a member of the directory.
Sender = Member


Authority = Callable[[Sender, IdentityUpdate], None]


def in_prefecture(municipality: str, prefecture: str) -> bool:
    """Whether a municipality code lies in a prefecture (the code's first two digits)."""
    return len(municipality) == 6 and len(prefecture) == 6 and municipality[:2] == prefecture[:2]


def admit_to_prefecture(prefecture: str, sender: Sender, update: IdentityUpdate) -> None:
    """A prefecture takes updates only from its municipalities, each about its own changes."""
    if sender.role != "municipality" or not in_prefecture(sender.code, prefecture):
        raise UpdateRefused(
            f"{sender.node_id} is not a municipality of prefecture {prefecture}; "
            "a prefecture takes identity updates only from its own municipalities."
        )
    if update.origin != sender.code:
        raise UpdateRefused(
            f"Update {update.seq} names municipality {update.origin} as its origin; "
            f"municipality {sender.code} may report only changes it recorded itself."
        )


def admit_to_national(sender: Sender, update: IdentityUpdate) -> None:
    """The national node takes updates only from prefectures, about their municipalities."""
    if sender.role != "prefecture":
        raise UpdateRefused(
            f"{sender.node_id} is not a prefecture; "
            "the national node takes identity updates only from prefectures."
        )
    if not in_prefecture(update.origin, sender.code):
        raise UpdateRefused(
            f"Update {update.seq} comes from municipality {update.origin}, which is not in "
            f"prefecture {sender.code}; a prefecture forwards only its own municipalities."
        )


@dataclass(frozen=True, slots=True)
class Holding:
    person_key: str
    origin: str
    status: str


@dataclass(frozen=True, slots=True)
class Standing:
    """What this node holds about the codes one update touches, read just before it."""

    current: Holding | None  # the row of ``resident_code``
    retired: bool  # ``resident_code`` was retired by a code change
    previous: Holding | None = None  # the row of ``previous_code`` (code change)
    previous_retired: bool = False


def check_standing(update: IdentityUpdate, standing: Standing) -> None:
    """A code may be changed only by its holder (``origin``), except an entry after removal.

    The holder is the municipality of the identity's last change; a new code, or (for
    an entry such as a move-in) a code whose identity is removed elsewhere, is open.
    """
    code, origin = update.resident_code, update.origin
    if standing.retired:
        raise UpdateRefused(
            f"Resident code {code} was retired by a code change (R6) and is never used again."
        )
    if update.previous_code is not None:
        old = update.previous_code
        if standing.current is not None:
            raise UpdateRefused(f"Resident code {code} is already in use; a new code must be new.")
        if standing.previous_retired:
            raise UpdateRefused(f"Resident code {old} was already retired by a code change.")
        if standing.previous is not None and standing.previous.origin != origin:
            raise UpdateRefused(
                f"Resident code {old} is held by municipality {standing.previous.origin}; "
                f"municipality {origin} may not change it."
            )
        return
    held = standing.current
    if held is None or held.origin == origin:
        return
    if update.change_reason in ENTRY_REASONS and held.status == "removed":
        return
    raise UpdateRefused(
        f"Resident code {code} is held by municipality {held.origin} "
        f"(status {held.status}); municipality {origin} may not change it"
        + (" (an entry needs the identity removed there first)." if held.status != "removed"
           else ".")
    )  # fmt: skip
