"""Builders for tests: events with sensible defaults, and register state probes."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from jukinet.audit import log as audit
from jukinet.card.machine import CardChip
from jukinet.card.reader import InProcessReader
from jukinet.domain import events as ev
from jukinet.domain.access import Session
from jukinet.domain.identity import Sex
from jukinet.domain.record import HEAD, Address, Name
from jukinet.nodes.municipality import operator_cards, operators
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.nodes.municipality.tables import (
    audit_log,
    code_pool,
    events,
    household_history,
    households,
    persons,
    record_history,
    retired_codes,
)

TODAY = date.today()
CHIYODA = "131016"
CHIYODA_NAME = "東京都千代田区"
MARUNOUCHI = Address(CHIYODA, CHIYODA_NAME, "丸の内", "一丁目1番1号")  # type: ignore[arg-type]
KANDA = Address(CHIYODA, CHIYODA_NAME, "神田神保町", "二丁目3番4号", "神保町ハイツ101")  # type: ignore[arg-type]


def name(family: str = "山田", given: str = "太郎", fk: str = "ヤマダ", gk: str = "タロウ") -> Name:
    return Name(family, given, fk, gk)


def person(
    given: str = "太郎",
    gk: str = "タロウ",
    *,
    family: str = "山田",
    fk: str = "ヤマダ",
    born: date = date(1980, 5, 5),
    sex: Sex = Sex.MALE,
    relationship: str = HEAD,
    code: str | None = None,
) -> ev.NewPerson:
    return ev.NewPerson(
        name(family, given, fk, gk), born, sex, relationship, "東京都千代田区丸の内一丁目1番",
        f"{family} 一郎", code,
    )  # fmt: skip


def arrival(
    *people: ev.NewPerson,
    address: Address = MARUNOUCHI,
    moved: date = TODAY - timedelta(days=30),
    join: int | None = None,
) -> ev.MoveInFromAbroad:
    return ev.MoveInFromAbroad(
        people or (person(),), address, "アメリカ合衆国カリフォルニア州", moved, moved, join
    )


def counts(store: RegisterStore) -> dict[str, int]:
    """Row counts of every table an event may write: to show a refusal changed nothing."""
    with store.engine.connect() as c:
        result = {
            t.name: int(c.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (persons, households, events, record_history, household_history,
                      retired_codes, audit_log)
        }  # fmt: skip
        result["unused_codes"] = int(
            c.execute(
                select(func.count()).select_from(code_pool).where(code_pool.c.assigned.is_(False))
            ).scalar_one()
        )
    return result


def last_audit(store: RegisterStore, n: int = 1) -> list[audit.Entry]:
    with store.engine.connect() as c:
        rows = c.execute(select(audit_log).order_by(audit_log.c.seq.desc()).limit(n)).all()
    return [audit.Entry(**r._mapping) for r in reversed(rows)]


def snapshot(store: RegisterStore) -> dict[str, Any]:
    """Every current record and household, to compare before and after a refusal."""
    with store.engine.connect() as c:
        return {
            "persons": sorted(tuple(r) for r in c.execute(select(persons)).all()),
            "households": sorted(tuple(r) for r in c.execute(select(households)).all()),
        }


def card_session(store: RegisterStore, username: str) -> Session:
    """A session of ``username`` with a real operator card, without the password check
    (argon2 costs ~80 ms; sign-in has its own tests): a new card is issued and bound
    to the account, and put in an in-process reader, where it proves itself (R11).
    The session's :class:`CardCheck` is in ``session.card``; pull the card with
    ``session.card.reader.disconnect()``."""
    with store.transaction() as tx:
        op = operators.get(tx.conn, username)
        card = operator_cards.bind(tx.conn, store.key, op)
        reader = InProcessReader(CardChip(card.content))
        check = operator_cards.check_card(tx.conn, store.key, op, reader)
    return Session(op, check)


def reader_of(session: Session) -> InProcessReader:
    """The in-process reader holding the card of a :func:`card_session` session."""
    check = session.card
    assert isinstance(check, operator_cards.CardCheck)
    assert isinstance(check.reader, InProcessReader)
    return check.reader
