"""The rules of moving with the card (R21, 住民基本台帳法 第24条の2): what a 付記転出届
must say, whose card takes the certificate information, the deadlines of the card
route (14 days after moving, 30 days after the planned date), and the household rule
(the household moving with its head, members without a card included)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from jukinet.domain import moving
from jukinet.domain.codes import LocalGovernmentCode, resident_code_check_digit
from jukinet.domain.identity import Sex
from jukinet.domain.record import Address, Name
from jukinet.errors import EventRefused, InvalidDate, MoveWithCardRefused
from jukinet.network.monitor import MOVED_AWAY, _compare

TODAY = date(2026, 12, 1)
HEAD, WIFE, CHILD = "10000000009", "10000000017", "10000000025"
UMEDA = Address(LocalGovernmentCode("271276"), "大阪府大阪市北区", "梅田", "一丁目1番1号")


def _valid(code: str) -> str:
    return code[:10] + str(resident_code_check_digit(code[:10]))


H, W, C = _valid(HEAD), _valid(WIFE), _valid(CHILD)


def person(code: str, rel: str, given: str = "太郎") -> moving.CertificatePerson:
    return moving.CertificatePerson(
        code, Name("山田", given, "ヤマダ", "タロウ"), date(1980, 5, 5), Sex.MALE, rel,
        "東京都千代田区丸の内一丁目1番", "山田 一郎",
    )  # fmt: skip


def certificate(
    planned: date = TODAY, head_moves: bool = True, holder: str | None = None
) -> moving.Certificate:
    persons = (person(H, "世帯主"), person(W, "妻", "花子"), person(C, "子", "一郎"))
    if not head_moves:
        persons = (person(W, "妻", "花子"), person(C, "子", "一郎"))
    return moving.Certificate(
        1, "131016", "東京都千代田区", "271276", UMEDA.text, holder or persons[0].resident_code,
        "123456789012", planned, planned, "東京都千代田区丸の内一丁目1番1号", head_moves,
        persons,
    )  # fmt: skip


def notification(**changes: object) -> moving.MoveNotification:
    fields: dict[str, object] = dict(
        holder=H, persons=(W, C), destination_code="271276", destination=UMEDA.text,
        planned_on=TODAY, notified_on=TODAY, channel="mail",
    )  # fmt: skip
    fields.update(changes)
    return moving.MoveNotification(**fields)  # type: ignore[arg-type]


def test_a_notification_names_the_holder_first_and_amounts_to_a_move_out() -> None:
    event = moving.check_notification(notification(), "131016", TODAY)
    assert event.persons == (H, W, C)
    named_again = moving.check_notification(notification(persons=(W, H, C)), "131016", TODAY)
    assert named_again.persons == (H, W, C)
    assert (event.moved_on, event.destination, event.abroad) == (TODAY, UMEDA.text, False)


@pytest.mark.parametrize(
    ("changes", "error", "sentence"),
    [
        ({"planned_on": TODAY + timedelta(days=15)}, EventRefused, "at most 14 days before"),
        ({"planned_on": TODAY - timedelta(days=15)}, MoveWithCardRefused, "notify on paper"),
        ({"destination_code": "131016"}, EventRefused, "move within it"),
        ({"destination": " "}, EventRefused, "needs the destination"),
        ({"persons": (W, W)}, EventRefused, "named twice"),
        ({"notified_on": TODAY + timedelta(days=1)}, InvalidDate, "in the future"),
    ],
)
def test_a_notification_that_cannot_start_a_card_move_is_refused(
    changes: dict[str, object], error: type[Exception], sentence: str
) -> None:
    with pytest.raises(error, match=sentence):
        moving.check_notification(notification(**changes), "131016", TODAY)


def test_the_card_route_is_open_14_days_after_moving_and_30_after_the_planned_date() -> None:
    cert = certificate(planned=TODAY - timedelta(days=30))
    moving.check_card_route_open(cert, TODAY - timedelta(days=14), TODAY, TODAY)  # both last days


def test_a_move_in_more_than_14_days_after_moving_has_lapsed() -> None:
    with pytest.raises(MoveWithCardRefused, match=r"within 14 days of moving.*paper move-out"):
        moving.check_card_route_open(certificate(), TODAY - timedelta(days=15), TODAY, TODAY)


def test_a_move_in_more_than_30_days_after_the_planned_date_has_lapsed() -> None:
    cert = certificate(planned=TODAY - timedelta(days=31))
    with pytest.raises(
        MoveWithCardRefused, match=r"within 30 days of the planned date.*転出証明書"
    ):
        moving.check_card_route_open(cert, TODAY - timedelta(days=3), TODAY, TODAY)


def test_a_move_in_dated_in_the_future_is_refused() -> None:
    with pytest.raises(InvalidDate, match="in the future"):
        moving.check_card_route_open(certificate(), TODAY + timedelta(days=1), TODAY, TODAY)


def test_only_the_holders_own_card_takes_the_certificate() -> None:
    cert = certificate()
    assert moving.presenter(cert, H, "123456789012").resident_code == H
    with pytest.raises(MoveWithCardRefused, match="not the card of the holder"):
        moving.presenter(cert, W, "123456789012")
    with pytest.raises(MoveWithCardRefused, match="not the card named"):
        moving.presenter(cert, H, "999999999999")


def test_the_household_moves_with_its_head_members_without_a_card_included() -> None:
    """第24条の2 第2項: the head's card moves the whole household in, as it was."""
    event = moving.card_move_in(certificate(), UMEDA, TODAY, TODAY)
    assert [(p.resident_code, p.relationship) for p in event.persons] == [
        (H, "世帯主"), (W, "妻"), (C, "子"),
    ]  # fmt: skip
    assert event.certificate_issuer == "131016" and event.join_household is None
    assert event.previous_address == "東京都千代田区丸の内一丁目1番1号"


def test_members_moving_without_their_head_form_a_household_headed_by_the_holder() -> None:
    cert = certificate(head_moves=False)
    with pytest.raises(EventRefused, match="Give the relationship of"):
        moving.card_move_in(cert, UMEDA, TODAY, TODAY)
    event = moving.card_move_in(cert, UMEDA, TODAY, TODAY, {C: "子"})
    assert [(p.resident_code, p.relationship) for p in event.persons] == [(W, "世帯主"), (C, "子")]


def test_a_relationship_for_someone_not_on_the_certificate_is_refused() -> None:
    with pytest.raises(EventRefused, match="not on the move-out certificate"):
        moving.card_move_in(certificate(), UMEDA, TODAY, TODAY, {_valid("20000000000"): "子"})


def test_the_removal_is_dated_the_day_of_moving_even_after_the_notice_period() -> None:
    planned = moving.check_notification(notification(), "131016", TODAY)
    final = moving.final_move_out(planned, TODAY + timedelta(days=20))
    assert final.moved_on == TODAY + timedelta(days=20)
    assert final.notified_on == TODAY + timedelta(days=20)


def test_reconcile_marks_a_moved_out_record_missing_from_a_copy_for_a_second_look() -> None:
    removed = {"resident_code": H, "status": "removed", "change_reason": "move-out"}
    dead = {"resident_code": W, "status": "removed", "change_reason": "death"}
    [a, b] = _compare("131016", "national:national", {H: removed, W: dead}, {})
    assert (a.resident_code, a.what) == (H, MOVED_AWAY)
    assert (b.resident_code, b.what) == (W, "missing")
