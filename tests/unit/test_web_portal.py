"""The resident portal's pieces that need no network (docs/ui.md, "The resident portal")."""

from __future__ import annotations

from datetime import UTC, datetime

from jukinet.network.messages import ProvisionEntry
from jukinet.web.common.app import CSP
from jukinet.web.common.i18n import COMMON, Catalogue
from jukinet.web.portal.app import portal_csp
from jukinet.web.portal.messages import PORTAL
from jukinet.web.portal.routes import plain


def test_every_portal_message_is_in_both_languages() -> None:
    assert set(PORTAL["ja"]) == set(PORTAL["en"])


def test_a_provision_reads_in_plain_words_r14() -> None:
    """R14: "2026-11-30, 日本年金機構, 年金の現況確認, 照会: 氏名・生年月日・性別・住所"."""
    entry = ProvisionEntry(
        at=datetime(2026, 11, 30, 9, 15, tzinfo=UTC), node="national:national",
        recipient="pension-fund", recipient_name="日本年金機構",
        affair="national-pension-status", function="lookup",
        fields=["name", "date_of_birth", "sex", "address"],
    )  # fmt: skip
    catalogue = Catalogue(COMMON, PORTAL)
    [ja] = plain([entry], lambda k: catalogue.text("ja", k),
                 {"national-pension-status": "年金の現況確認"})  # fmt: skip
    assert ja.text == "2026-11-30, 日本年金機構, 年金の現況確認, 照会: 氏名・生年月日・性別・住所"
    [en] = plain([entry], lambda k: catalogue.text("en", k), {})
    assert en.text == (
        "2026-11-30, 日本年金機構, national-pension-status, lookup: "
        "name・date of birth・sex・address"
    )


def test_a_match_only_provision_says_so() -> None:
    entry = ProvisionEntry(
        at=datetime(2026, 11, 30, tzinfo=UTC), node="prefecture:130001", recipient="x",
        recipient_name="東京都 福祉局", affair="a", function="verify", fields=[],
    )  # fmt: skip
    catalogue = Catalogue(COMMON, PORTAL)
    [line] = plain([entry], lambda k: catalogue.text("ja", k), {"a": "事務"})
    assert line.text == "2026-11-30, 東京都 福祉局, 事務, 確認: （照合のみ）"


def test_the_csp_allows_the_card_agent_and_nothing_else_extra() -> None:
    policy = portal_csp("http://127.0.0.1:47315")
    assert policy == CSP + "; connect-src 'self' http://127.0.0.1:47315"
    assert "'unsafe-inline'" not in policy
