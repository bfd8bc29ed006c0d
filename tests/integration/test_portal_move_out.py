"""The portal's online move-out refuses before anything is signed or filed (R21;
docs/ui.md, "The resident portal"). The signed path runs in tests/browser/test_portal.py."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from jukinet.audit import log as audit
from jukinet.domain.access import Session
from jukinet.errors import EventRefused, InvalidInput
from jukinet.nodes.municipality import portal, service
from jukinet.nodes.municipality.store import RegisterStore
from tests.helpers import TODAY, arrival, person


def test_a_move_out_too_far_ahead_is_refused_in_the_domain_s_words(
    store: RegisterStore, clerk: Session
) -> None:
    code = service.record_event(store, clerk, arrival(person()), TODAY).records[0].resident_code
    with pytest.raises(EventRefused, match="at most 14 days before the planned date"):
        portal.move_out_document(store, code, "131041", "東京都新宿区西新宿二丁目8番1号",
                                 TODAY + timedelta(days=30), TODAY)  # fmt: skip
    doc = portal.move_out_document(store, code, "131041", "東京都新宿区西新宿二丁目8番1号",
                                   TODAY + timedelta(days=7), TODAY)  # fmt: skip
    assert (doc["holder"], doc["persons"], doc["origin"]) == (code, [code], str(store.code))


def test_another_resident_s_notification_is_refused_and_audited(
    home: Path, store: RegisterStore, clerk: Session
) -> None:
    """Only the holder notifies their own move-out: nothing is filed."""
    code = service.record_event(store, clerk, arrival(person()), TODAY).records[0].resident_code
    doc = portal.move_out_document(store, code, "131041", "新宿区", TODAY, TODAY)
    with pytest.raises(InvalidInput, match="their own move-out only"):
        asyncio.run(portal.submit_move_out(store, home, "99999999999", doc, b"x", b"y"))
    assert not (home / portal.ONLINE_MOVE_OUTS).exists()
    with store.engine.connect() as conn:
        [entry] = [e for e in audit.entries(conn) if e.operation == "portal.move-out"]
    assert entry.outcome == "refused"
