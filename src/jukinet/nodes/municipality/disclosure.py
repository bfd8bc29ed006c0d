"""Disclosure to a resident (R14): to whom, when and for what their identity was provided.

At the window a clerk verifies the resident, or the resident's card signs the request
(``disclosure_card``: PIN and JPKI user-authentication signature, verified by each node
asked), then this node asks its prefecture and the national node over the network
and merges their answers, newest first. The request is audited here as a
read of the resident's record: the permission and the record are checked first,
the answers fetched with no transaction open, then the read audited in one short
transaction (a slow prefecture never holds up the other clerks' writes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from jukinet import config
from jukinet.audit.disclosure_check import cosigner_keys
from jukinet.card.reader import Reader
from jukinet.domain.access import Permission, Session
from jukinet.domain.codes import ResidentCode, parse_resident_code
from jukinet.domain.record import ResidentRecord
from jukinet.errors import ConfigurationError, ResidentNotFound
from jukinet.network.messages import DisclosureRequest, ProvisionEntry
from jukinet.network.messages_disclosure import DisclosureAnswer, ProvenDisclosure
from jukinet.nodes.municipality.disclosure_card import card_request, signed_ask
from jukinet.nodes.municipality.service import run_after
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx
from jukinet.nodes.runtime import load_runtime


@dataclass(frozen=True)
class CardAtWindow:
    """The resident's card in a reader at the window, and the PIN the resident entered."""

    reader: Reader
    pin: str


async def disclose(
    store: RegisterStore,
    session: Session,
    home: Path,
    code: str,
    card: CardAtWindow | None = None,
) -> list[ProvisionEntry]:
    """Every provision of this resident's identity information, newest first; proved by
    the resident's ``card`` if given, else the clerk verified the resident."""
    return entries_of(await disclose_answer(store, session, home, code, card))


async def disclose_answer(
    store: RegisterStore,
    session: Session,
    home: Path,
    code: str,
    card: CardAtWindow | None = None,
) -> DisclosureAnswer:
    """The nodes' answers as they gave them, each checkable by the resident (R14)."""
    cfg = config.load(home)

    async def fetch() -> DisclosureAnswer:
        with store.engine.connect() as conn:  # a plain read: no write lock, no audit-head lock
            record = _record(RegisterTx(conn, store), code)
        return await fetch_answer(cfg, record.resident_code, session.operator.username, card)

    def work(tx: RegisterTx, answer: DisclosureAnswer) -> tuple[DisclosureAnswer, str, str]:
        record = _record(tx, code)
        how = "the resident's card" if card is not None else "the clerk"
        count = sum(len(a.provisions) for a in answer.answers)
        return answer, record.resident_code, f"{count} provisions disclosed ({how})"

    return await run_after(
        store, session, Permission.READ_RECORD, "resident.disclosure", code.strip(), fetch, work
    )


def _record(tx: RegisterTx, code: str) -> ResidentRecord:
    record = tx.record(parse_resident_code(code))
    if record is None:
        raise ResidentNotFound(f"No record of this municipality carries code {code}.")
    return record


def entries_of(answer: DisclosureAnswer) -> list[ProvisionEntry]:
    """Every node's provisions merged, newest first."""
    entries: list[ProvisionEntry] = [e for a in answer.answers for e in a.provisions]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries


async def fetch_disclosure(
    cfg: config.NodeConfig, code: ResidentCode, clerk: str, card: CardAtWindow | None = None
) -> list[ProvisionEntry]:
    """Ask the prefecture and the national node what they provided of ``code``; newest first."""
    return entries_of(await fetch_answer(cfg, code, clerk, card))


async def fetch_answer(
    cfg: config.NodeConfig, code: ResidentCode, clerk: str, card: CardAtWindow | None = None
) -> DisclosureAnswer:
    """Ask the prefecture and the national node what they provided of ``code``.

    With ``card`` the card signs the request first (a refusal by the card, such as a
    wrong PIN, ends here: nothing is sent)."""
    if cfg.network is None:
        raise ConfigurationError("This register is not on a network: nothing was provided.")
    runtime = load_runtime(cfg)
    holders = [cfg.network.upstream_url, cfg.network.national_url]
    if card is None:
        request = DisclosureRequest(resident_code=code, verified_by="clerk", clerk=clerk)
    else:
        by_url = {e.url: e.node_id for e in runtime.directory.entries()}
        nodes = [by_url[url] for url in holders if url in by_url]
        payload = signed_ask(code, cfg.code, nodes)
        request = card_request(card.reader, card.pin, payload, code, clerk)
    asked_at = datetime.now(UTC)
    answers: list[ProvenDisclosure] = []
    async with runtime.client() as client:
        for url in holders:
            one = ProvenDisclosure.model_validate(await client.post(f"{url}/disclosure", request))
            keys = cosigner_keys(one, runtime.directory.public_key)  # the witnesses' (R14)
            answers.append(one.model_copy(update={"cosigner_keys": keys}))
    return DisclosureAnswer(
        resident_code=code, asked_at=asked_at, municipality=cfg.code, answers=answers
    )
