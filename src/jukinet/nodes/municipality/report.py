"""The register at a glance: counts, age pyramid, pool (aggregates only, no record shown)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from jukinet.domain.access import Permission, Session
from jukinet.nodes.municipality.service import run
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx
from jukinet.nodes.municipality.tables import audit_head, households, persons
from jukinet.seed.names import VARIANT_FAMILY_NAMES

# Characters of the variant-kanji names that their plain forms replace (髙 in 髙橋 …).
VARIANT_KANJI = frozenset(ch for v in VARIANT_FAMILY_NAMES for ch in v.name if ch not in v.plain)
BANDS = ((0, 14), (15, 64), (65, 74), (75, 200))


@dataclass(frozen=True, slots=True)
class Summary:
    code: str
    name: str
    residents: int
    male: int
    female: int
    removed: int
    households: int
    towns: int
    variant_names: int
    pool_unused: int
    audit_entries: int
    age_bands: tuple[tuple[str, int], ...]


def summary(store: RegisterStore, session: Session, today: date) -> Summary:
    """Aggregates for any active operator of the node; audited as one read."""

    def work(tx: RegisterTx) -> tuple[Summary, str, str]:
        s = _compute(tx, store, today)
        return s, "register", f"{s.residents} residents"

    return run(store, session, Permission.READ_SUMMARY, "register.summary", "register", work)


def _compute(tx: RegisterTx, store: RegisterStore, today: date) -> Summary:
    c = tx.conn
    live = persons.c.removal_reason.is_(None)
    by_sex: dict[str, int] = {
        sex: n
        for sex, n in c.execute(
            select(persons.c.sex, func.count()).where(live).group_by(persons.c.sex)
        )
    }
    removed = c.execute(select(func.count()).select_from(persons).where(~live)).scalar_one()
    n_households = c.execute(
        select(func.count()).select_from(households).where(households.c.dissolved_on.is_(None))
    ).scalar_one()
    towns = c.execute(select(func.count(func.distinct(persons.c.town))).where(live)).scalar_one()
    variant = 0
    bands = {label: 0 for label in (f"{lo}–{hi}" if hi < 200 else f"{lo}+" for lo, hi in BANDS)}
    for family, born in c.execute(
        select(persons.c.family_name, persons.c.date_of_birth).where(live)
    ):
        if any(ch in VARIANT_KANJI for ch in family):
            variant += 1
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        for lo, hi in BANDS:
            if lo <= age <= hi:
                bands[f"{lo}–{hi}" if hi < 200 else f"{lo}+"] += 1
                break
    return Summary(
        code=store.code,
        name=store.name,
        residents=sum(by_sex.values()),
        male=by_sex.get("male", 0),
        female=by_sex.get("female", 0),
        removed=removed,
        households=n_households,
        towns=towns,
        variant_names=variant,
        pool_unused=tx.pool_remaining(),
        audit_entries=int(c.execute(select(audit_head.c.seq)).scalar_one()),
        age_bands=tuple(bands.items()),
    )
