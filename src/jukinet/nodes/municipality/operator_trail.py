"""An operator's own audit trail (R12, R13): every entry of the register's audit log
made in that operator's name — at the CLI and the window (``operator:<name>``) and by
their web sign-ins (``web:<name>``) — newest first. Reading it takes the permission the
CLI's ``jukinet audit show`` takes (auditors and administrators), and is audited."""

from __future__ import annotations

from sqlalchemy import select

from jukinet.audit import log as audit
from jukinet.domain.access import Permission, Session
from jukinet.nodes.municipality import operators, service
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx
from jukinet.nodes.municipality.tables import audit_log

TRAIL_LIMIT = 500  # the newest entries shown at once


def operator_trail(
    store: RegisterStore, session: Session, username: str, limit: int = TRAIL_LIMIT
) -> list[audit.Entry]:
    """The newest ``limit`` entries made by operator ``username`` of this register."""
    target = f"operator {username.strip()}"

    def work(tx: RegisterTx) -> tuple[list[audit.Entry], str, str]:
        name = operators.get(tx.conn, username.strip()).username  # OperatorNotFound
        actors = (f"operator:{name}", f"web:{name}")
        rows = tx.conn.execute(
            select(audit_log).where(audit_log.c.actor.in_(actors))
            .order_by(audit_log.c.seq.desc()).limit(limit)
        ).all()  # fmt: skip
        found = [audit.Entry(**r._mapping) for r in rows]
        return found, target, f"read {len(found)} entries"

    return service.run(store, session, Permission.READ_AUDIT, "audit.operator", target, work)
