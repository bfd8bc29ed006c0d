"""Deciding an event: is it legal in the register's state, and what does it change?

``decide`` is pure: it reads the register through ``RegisterView``, draws new
codes and numbers through ``Allocator``, and returns a ``Decision`` (the new
versions of records and households). Persisting the decision is the adapters' job.
Every refusal is an ``EventRefused`` (or ``InvalidInput``) with a sentence for the clerk.

The rules themselves live by family of change reason (``domain/reasons.py``):
``rules_entry`` (記載), ``rules_removal`` (消除), ``rules_change`` (修正); the
shared types and lookups in ``domain/decision``.
"""

from __future__ import annotations

from datetime import date

from jukinet.domain import rules_change, rules_entry, rules_removal
from jukinet.domain.decision import Allocator, Decision, RegisterView
from jukinet.domain.events import (
    Birth,
    CodeChange,
    Death,
    DomesticMoveIn,
    Event,
    HeadChange,
    HouseholdMerge,
    HouseholdSplit,
    MinorCorrection,
    MoveInFromAbroad,
    MoveOut,
    MoveWithin,
    NameChange,
)

__all__ = ["Allocator", "Decision", "RegisterView", "decide"]


def decide(event: Event, view: RegisterView, alloc: Allocator, today: date) -> Decision:
    """Check ``event`` against the register and return what it changes."""
    match event:
        case Birth():
            return rules_entry.birth(event, view, alloc, today)
        case MoveInFromAbroad() | DomesticMoveIn():
            return rules_entry.move_in(event, view, alloc, today)
        case MoveWithin():
            return rules_change.move_within(event, view, today)
        case MoveOut():
            return rules_removal.move_out(event, view, today)
        case Death():
            return rules_removal.death(event, view, today)
        case NameChange():
            return rules_change.name_change(event, view, today)
        case HouseholdSplit():
            return rules_change.split(event, view, alloc, today)
        case HouseholdMerge():
            return rules_change.merge(event, view, today)
        case HeadChange():
            return rules_change.head_change(event, view, today)
        case MinorCorrection():
            return rules_change.correction(event, view, today)
        case CodeChange():
            return rules_change.code_change(event, view, alloc, today)
