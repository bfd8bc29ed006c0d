"""The card at the window, in process (R15–R17): the window terminal's commands on a card
in an in-process reader, and the register's word on it (``cards.at_window``), with the
keys ``network init`` makes (``card_keys.make_window``). Issuing, suspending and
revoking ask the national JPKI CA and are proved on the running network
(tests/e2e/test_card_window.py); here the card's row is written as issuing writes it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import update

from jukinet.card import certs, image
from jukinet.card.apps import resident
from jukinet.card.builder import Authorities, CardKeys, CardPins, Holder, issue_card
from jukinet.card.jpki_ca import JpkiTestCA
from jukinet.card.reader import InProcessReader
from jukinet.card.terminal import Terminal
from jukinet.domain import events as ev
from jukinet.domain.access import Session
from jukinet.domain.card import Card, CardState, CardStep
from jukinet.domain.codes import generate_resident_code
from jukinet.domain.record import ResidentRecord
from jukinet.errors import (
    AccessDenied,
    CardNotGenuine,
    CardRefused,
    CardStateRefused,
    ConfigurationError,
    InvalidInput,
    NotFound,
    ResidentNotFound,
)
from jukinet.nodes.municipality import card_window, cards, service
from jukinet.nodes.municipality.card_keys import WindowKeys, load_window, make_window
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.nodes.municipality.tables import cards as cards_table
from tests.helpers import TODAY, arrival, counts, last_audit, person

OTHER = "131024"
PIN = "1357"
NUMBER = "000000000777"


@dataclass
class AtWindow:
    store: RegisterStore
    window: WindowKeys
    code: str
    image: Path
    chip_key: bytes
    other_issuer: Ed25519PrivateKey

    def terminal(self) -> Terminal:
        reader = InProcessReader(image.open_image(self.image, self.chip_key))
        reader.connect()
        return Terminal(reader)

    def at_window(
        self, session: Session, step: str, *, pin: str = PIN, detail: str = "checked"
    ) -> tuple[Card, ResidentRecord]:
        t = self.terminal()
        issuer, number = card_window.prove_card(t, self.window)
        card_code = None
        if step == "check":
            read = card_window.read_identity(t, self.window, pin)
            card_code = read.resident_code
        return cards.at_window(
            self.store, session, step, number, issuer, TODAY, lambda _c, _r: detail, card_code
        )


def _issue(
    tmp: Path, window: WindowKeys, issuer: Ed25519PrivateKey, code: str, municipality: str,
    keys: CardKeys,
) -> tuple[Path, bytes]:  # fmt: skip
    holder = Holder(code, NUMBER, municipality, "中村 陽菜", date(2036, 12, 1))
    pins = CardPins(jpki_auth=PIN, jpki_sign="WINDOW26", resident=PIN, municipal=PIN)
    content = issue_card(
        holder, pins, Authorities(JpkiTestCA.create(), issuer, window.terminal_ca), keys
    )
    chip_key, path = image.new_chip_key(), tmp / f"card-{municipality}.img"
    image.write_image(path, content, chip_key)
    return path, chip_key


@pytest.fixture
def desk(
    store: RegisterStore, home: Path, clerk: Session, tmp_path: Path, card_keys: CardKeys
) -> AtWindow:
    issuer, other, terminal_ca = (Ed25519PrivateKey.generate() for _ in range(3))
    publics = {store.code: certs.public_bytes(issuer), OTHER: certs.public_bytes(other)}
    make_window(home, store.code, issuer, terminal_ca, publics)
    window = load_window(home, store.code)
    new = person("陽菜", "ヒナ", family="中村", fk="ナカムラ")
    code = service.record_event(store, clerk, arrival(new), TODAY).records[0].resident_code
    path, chip_key = _issue(tmp_path, window, issuer, code, store.code, card_keys)
    with store.transaction() as tx:
        tx.conn.execute(
            cards_table.insert().values(
                card_number=NUMBER, resident_code=code, state="active", issued_on=TODAY,
                valid_until=date(2036, 12, 1), auth_serial="01", sign_serial="02",
                changed_on=TODAY, reason="issued", replaced_by=None,
            )
        )  # fmt: skip
    return AtWindow(store, window, code, path, chip_key, other)


def _set_state(store: RegisterStore, state: CardState) -> None:
    with store.transaction() as tx:
        tx.conn.execute(update(cards_table).values(state=state.value))


def test_the_pin_and_mutual_authentication_prove_the_holder(desk: AtWindow, clerk: Session) -> None:
    card, record = desk.at_window(clerk, "check")
    assert card.number == NUMBER and card.state is CardState.ACTIVE
    assert record.resident_code == desk.code
    entry = last_audit(desk.store)[0]
    assert (entry.operation, entry.target, entry.outcome) == ("card.check", desk.code, "ok")
    assert entry.detail == f"card {NUMBER}: checked"


def test_a_wrong_pin_says_the_tries_left_and_a_blocked_one_sends_to_a_supervisor(
    desk: AtWindow, clerk: Session, supervisor: Session
) -> None:
    with pytest.raises(CardRefused, match=r"Wrong PIN: 2 tries left\."):
        desk.at_window(clerk, "check", pin="0000")
    with pytest.raises(CardRefused, match=r"Wrong PIN: 1 tries left\."):
        desk.at_window(clerk, "check", pin="0000")
    with pytest.raises(CardRefused, match=r"0 tries left\. The PIN is blocked: a supervisor"):
        desk.at_window(clerk, "check", pin="0000")
    with pytest.raises(CardRefused, match="The PIN is blocked: a supervisor can unblock it"):
        desk.at_window(clerk, "check")  # the right PIN no longer helps

    t = desk.terminal()
    issuer, number = card_window.prove_card(t, desk.window)
    with pytest.raises(AccessDenied):  # a clerk may not unblock
        cards.at_window(desk.store, clerk, "unblock", number, issuer, TODAY,
                        lambda _c, _r: card_window.unblock(t, desk.window, "resident"))  # fmt: skip
    assert last_audit(desk.store)[0].outcome == "refused"
    assert Terminal.tries_left(t, resident.PIN_FID) == 0  # the card was left as it was

    def unblocked(_c: Card, _r: ResidentRecord) -> str:
        label = card_window.unblock(t, desk.window, "resident")
        return f"{label} unblocked; identity checked by passport TK1234567"

    cards.at_window(desk.store, supervisor, "unblock", number, issuer, TODAY, unblocked)
    assert last_audit(desk.store)[0].detail == (
        f"card {NUMBER}: 住基AP PIN unblocked; identity checked by passport TK1234567"
    )
    card, _ = desk.at_window(clerk, "check")
    assert card.number == NUMBER


def test_a_terminal_without_the_unblock_right_cannot_reset_a_counter(desk: AtWindow) -> None:
    t = desk.terminal()
    t.select_application(resident.AID)  # no EXTERNAL AUTHENTICATE
    t.select(resident.PIN_FID)
    from jukinet.card.apdu import command

    with pytest.raises(CardRefused, match="does not allow this yet"):
        t.call(command(0x00, 0x2C, 0x03, 0x80))


@pytest.mark.parametrize(
    ("state", "said"),
    [
        (CardState.SUSPENDED, "suspended (reported lost)"),
        (CardState.REVOKED, "it was revoked"),
        (CardState.REPLACED, "replaced by a newer card"),
    ],
)
def test_a_card_not_active_proves_nothing_and_is_not_unblocked(
    desk: AtWindow, clerk: Session, supervisor: Session, state: CardState, said: str
) -> None:
    _set_state(desk.store, state)
    with pytest.raises(CardStateRefused, match="does not prove who its holder is: .*" + said[:8]):
        desk.at_window(clerk, "check")
    entry = last_audit(desk.store)[0]
    assert (entry.operation, entry.outcome) == ("card.check", "refused")
    with pytest.raises(CardStateRefused, match=f"Card {NUMBER} cannot be unblocked"):
        desk.at_window(supervisor, "unblock")


def test_a_card_of_another_municipality_is_genuine_but_its_register_is_there(
    desk: AtWindow, clerk: Session, tmp_path: Path, card_keys: CardKeys
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    desk.image, desk.chip_key = _issue(
        other, desk.window, desk.other_issuer, desk.code, OTHER, card_keys
    )
    with pytest.raises(CardStateRefused, match=f"issued by municipality {OTHER}, not by this"):
        desk.at_window(clerk, "check")


def test_a_card_no_municipality_of_the_network_issued_is_not_genuine(
    desk: AtWindow, clerk: Session, tmp_path: Path, card_keys: CardKeys
) -> None:
    desk.image, desk.chip_key = _issue(
        tmp_path, desk.window, Ed25519PrivateKey.generate(), desk.code, OTHER, card_keys
    )
    with pytest.raises(CardNotGenuine, match="not issued by a municipality of this network"):
        desk.at_window(clerk, "check")


def test_after_a_code_change_the_card_is_updated_with_the_new_code(
    desk: AtWindow, clerk: Session
) -> None:
    receipt = service.record_event(desk.store, clerk, ev.CodeChange(desk.code, TODAY, TODAY), TODAY)
    new_code = receipt.records[0].resident_code
    with pytest.raises(CardStateRefused, match=f"which the holder no longer has \\(now {new_code}"):
        desk.at_window(clerk, "check")

    t = desk.terminal()
    issuer, number = card_window.prove_card(t, desk.window)
    cards.at_window(
        desk.store, clerk, "update", number, issuer, TODAY,
        lambda c, r: f"{c.resident_code} -> "
        + card_window.write_resident_code(t, desk.window, r.resident_code),
    )  # fmt: skip
    assert last_audit(desk.store)[0].detail == f"card {NUMBER}: {desk.code} -> {new_code}"
    read = card_window.read_identity(desk.terminal(), desk.window, PIN)
    assert read.resident_code == new_code
    card, _ = desk.at_window(clerk, "check")
    assert card.resident_code == new_code


def test_a_card_update_without_the_terminal_authentication_is_refused(desk: AtWindow) -> None:
    t = desk.terminal()
    t.select_application(resident.AID)
    t.verify(resident.PIN_FID, PIN)  # the holder's PIN alone does not allow a write
    t.select(resident.RESIDENT_CODE)
    from jukinet.card.apdu import command

    with pytest.raises(CardRefused, match="does not allow this yet"):
        t.call(command(0x00, 0xD6, 0x00, 0x00, b"00000000000"))


PINS = CardPins(jpki_auth=PIN, jpki_sign="WINDOW26", resident=PIN, municipal=PIN)


def _refused_once(store: RegisterStore, operation: str, count_before: int) -> None:
    entries = last_audit(store)
    assert (entries[0].operation, entries[0].outcome) == (operation, "refused")
    assert counts(store)["audit_log"] == count_before + 1


def test_issuing_is_refused_before_the_ca_is_asked(
    desk: AtWindow, clerk: Session, home: Path, tmp_path: Path
) -> None:
    def issue(code: str, out: Path, *, reissue: bool = False) -> None:
        asyncio.run(cards.issue(desk.store, clerk, home, code, PINS, out, TODAY, reissue=reissue))

    before = counts(desk.store)["audit_log"]
    with pytest.raises(CardStateRefused, match=f"already holds card {NUMBER}, active; use `card"):
        issue(desk.code, tmp_path / "a.img")
    _refused_once(desk.store, "card.issue", before)
    assert not (tmp_path / "a.img").exists()
    (tmp_path / "taken.img").write_bytes(b"")
    with pytest.raises(InvalidInput, match="already exists; a card is written to new files"):
        issue(desk.code, tmp_path / "taken.img", reissue=True)
    with pytest.raises(ResidentNotFound):
        issue(generate_resident_code(), tmp_path / "b.img")
    _set_state(desk.store, CardState.REPLACED)
    with pytest.raises(CardStateRefused, match="cannot be replaced: it was replaced"):
        issue(desk.code, tmp_path / "c.img", reissue=True)
    _refused_once(desk.store, "card.reissue", before + 3)


def test_a_register_without_card_keys_issues_no_card(
    store: RegisterStore, clerk: Session, home: Path, tmp_path: Path
) -> None:
    code = service.record_event(store, clerk, arrival(person("一郎", "イチロウ")), TODAY)
    with pytest.raises(ConfigurationError, match="`jukinet network init` makes them"):
        asyncio.run(cards.issue(store, clerk, home, code.records[0].resident_code, PINS,
                                tmp_path / "card.img", TODAY))  # fmt: skip


def test_ending_a_card_is_refused_before_the_ca_is_asked(
    desk: AtWindow, clerk: Session, home: Path
) -> None:
    def end(number: str, step: CardStep, reason: str) -> None:
        asyncio.run(cards.end(desk.store, clerk, home, number, step, reason, TODAY))

    before = counts(desk.store)["audit_log"]
    with pytest.raises(CardStateRefused, match="lost or stolen; 'broken' is not one"):
        end(NUMBER, CardStep.SUSPEND, "broken")
    _refused_once(desk.store, "card.suspend", before)
    with pytest.raises(NotFound, match="issued no card numbered 999999999999"):
        end("999999999999", CardStep.REVOKE, "given back")
    _set_state(desk.store, CardState.REVOKED)
    with pytest.raises(CardStateRefused, match=f"Card {NUMBER} cannot be suspended: it was"):
        end(NUMBER, CardStep.SUSPEND, "lost")
    with pytest.raises(CardStateRefused, match=f"Card {NUMBER} cannot be revoked: it was"):
        end(NUMBER, CardStep.REVOKE, "given back")
    _refused_once(desk.store, "card.revoke", before + 3)
    assert [c.state for c in cards.cards_of(desk.store, desk.code)] == [CardState.REVOKED]
