"""The directory as the network's heartbeat (R9, docs/emergency.md): a version and a short
expiry signed into it, renewal by the national node, rollback refused and audited."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jukinet.audit.log import Draft
from jukinet.errors import DirectoryRefused, DirectoryRolledBack
from jukinet.network.directory import (
    DirectoryView,
    due_for_renewal,
    renew,
    sign_directory,
    verify_directory,
)
from jukinet.network.messages import Directory, SignedDirectory
from jukinet.nodes.runtime import refresh_directory

NATIONAL = Ed25519PrivateKey.generate()
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _signed(version: int, expires_at: datetime, issued_at: datetime = T0) -> SignedDirectory:
    directory = Directory(
        network="demo", version=version, issued_at=issued_at, expires_at=expires_at, entries=[]
    )
    return sign_directory(directory, NATIONAL)


def test_the_expiry_is_signed_a_changed_expiry_does_not_verify() -> None:
    signed = _signed(1, T0 + timedelta(minutes=10))
    later = signed.directory.model_copy(update={"expires_at": T0 + timedelta(days=1)})
    with pytest.raises(DirectoryRefused, match="not signed"):
        verify_directory(signed.model_copy(update={"directory": later}), NATIONAL.public_key())


def test_renewal_is_the_next_version_valid_for_one_more_lifetime() -> None:
    old = _signed(7, T0 + timedelta(minutes=10)).directory
    now = T0 + timedelta(minutes=6)
    fresh = renew(old, NATIONAL, 600.0, now)
    assert fresh.directory.version == 8
    assert fresh.directory.issued_at == now
    assert fresh.directory.expires_at == now + timedelta(minutes=10)
    assert verify_directory(fresh, NATIONAL.public_key()) == fresh.directory


def test_the_national_node_renews_when_half_a_lifetime_is_left() -> None:
    directory = _signed(1, T0 + timedelta(minutes=10)).directory
    assert not due_for_renewal(directory, 600.0, T0 + timedelta(minutes=4, seconds=59))
    assert due_for_renewal(directory, 600.0, T0 + timedelta(minutes=5, seconds=1))
    assert due_for_renewal(directory, 600.0, T0 + timedelta(hours=1))  # long expired


def test_an_expired_directory_stops_everything_a_fresh_one_restarts_it() -> None:
    now = datetime.now(UTC)
    view = DirectoryView(_signed(1, now - timedelta(seconds=1)), NATIONAL.public_key())
    assert view.expired()
    reason = view.stop_reason("municipality:131016", "prefecture:130001")
    assert reason is not None
    assert "version 1" in reason and "expired" in reason and "(R9)" in reason
    assert view.stop_reason("municipality:131016") == reason  # with anyone
    assert view.update(_signed(2, now + timedelta(minutes=10), issued_at=now))
    assert not view.expired()
    assert view.stop_reason("municipality:131016", "prefecture:130001") is None


def test_a_rolled_back_directory_is_refused_even_if_it_has_not_expired() -> None:
    now = datetime.now(UTC)
    view = DirectoryView(_signed(5, now + timedelta(minutes=1)), NATIONAL.public_key())
    with pytest.raises(DirectoryRolledBack, match="version 4 is older than version 5") as err:
        view.update(_signed(4, now + timedelta(days=1)))
    assert err.value.version == 4
    assert view.version == 5
    assert view.update(_signed(5, now + timedelta(days=1))) is False  # same version: ignored


def test_the_refresh_loop_logs_and_audits_a_rollback_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = datetime.now(UTC)
    view = DirectoryView(_signed(3, now + timedelta(minutes=10)), NATIONAL.public_key())
    audited: list[Draft] = []
    rounds = 0

    async def fetch() -> SignedDirectory:
        nonlocal rounds
        rounds += 1
        return _signed(2, now + timedelta(minutes=10))  # a replayed older directory

    async def main() -> None:
        task = asyncio.create_task(refresh_directory(view, fetch, 0.001, audited.append))
        while rounds < 5:
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with caplog.at_level(logging.WARNING, logger="jukinet.security"):
        asyncio.run(main())
    assert view.version == 3
    assert [(d.operation, d.outcome) for d in audited] == [("directory.rollback", "refused")]
    assert "version 2 is older than version 3" in audited[0].detail
    refusals = [r for r in caplog.records if r.name == "jukinet.security"]
    assert len(refusals) >= 5 and all("rolled-back" in r.getMessage() for r in refusals)
