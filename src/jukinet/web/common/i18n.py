"""The message catalogue: every string a page shows, in Japanese first and English.

A typed dict per language; an app adds its own with ``Catalogue(COMMON, ITS_OWN)``.
A test checks that both languages have the same keys. The language a person chose is
kept in a cookie (``lang``), Japanese unless they chose English.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

Lang = Literal["ja", "en"]
LANGS: tuple[Lang, ...] = get_args(Lang)
LANG_COOKIE = "lang"
Messages = Mapping[Lang, Mapping[str, str]]

COMMON: Messages = {
    "ja": {
        "skip": "本文へ移動",
        "switch_lang": "English",
        "signin.title": "サインイン",
        "signin.username": "利用者名",
        "signin.password": "パスワード",
        "signin.submit": "次へ",
        "signin.wrong": "利用者名またはパスワードが違います。",
        "signin.locked": "サインインの失敗が続いたため、この利用者はロックされています。管理者に新しい登録用リンクを依頼してください。",
        "signin.no_card": "この利用者には操作者カードが登録されていません。管理者に登録用リンクを依頼してください。",
        "card.title": "操作者カードの確認",
        "card.intro": "操作者カード（WebAuthn 認証器）で本人確認を行います。",
        "card.submit": "カードで確認",
        "card.failed": "操作者カードを確認できませんでした。もう一度お試しください。",
        "signout": "サインアウト",
        "signed_in_as": "サインイン中",
        "enrol.title": "操作者カードの登録",
        "enrol.intro": "管理者から受け取った登録用リンクです。パスワードを入力し、カードを登録してください。",
        "enrol.submit": "カードを登録",
        "enrol.done": "カードを登録しました。サインインしてください。",
        "enrol.invalid": "この登録用リンクは無効か、期限切れです。管理者に新しいリンクを依頼してください。",
        "error.title": "エラー",
        "error.404": "お探しのページは見つかりません。",
        "error.403": "この操作は許可されていません。ページを再読み込みして、もう一度お試しください。",
        "error.400": "入力を確認してください。",
        "error.500": "処理中に問題が発生しました。記録は変更されていません。時間をおいてもう一度お試しください。",
        "error.expired": "一定時間操作がなかったため、サインアウトしました。もう一度サインインしてください。",
        "back": "戻る",
        "js_needed": "操作者カードの確認には JavaScript が必要です。",
    },
    "en": {
        "skip": "Skip to content",
        "switch_lang": "日本語",
        "signin.title": "Sign in",
        "signin.username": "Username",
        "signin.password": "Password",
        "signin.submit": "Next",
        "signin.wrong": "The username or the password is wrong.",
        "signin.locked": "This account is locked after too many failed sign-ins. Ask an administrator for a new registration link.",
        "signin.no_card": "No operator card is registered for this account. Ask an administrator for a registration link.",
        "card.title": "Operator card",
        "card.intro": "Confirm it is you with your operator card (a WebAuthn authenticator).",
        "card.submit": "Confirm with the card",
        "card.failed": "The operator card could not be confirmed. Please try again.",
        "signout": "Sign out",
        "signed_in_as": "Signed in as",
        "enrol.title": "Register an operator card",
        "enrol.intro": "This is the registration link an administrator gave you. Type your password, then register your card.",
        "enrol.submit": "Register the card",
        "enrol.done": "The card is registered. Please sign in.",
        "enrol.invalid": "This registration link is not valid or has expired. Ask an administrator for a new one.",
        "error.title": "Error",
        "error.404": "There is no such page.",
        "error.403": "This is not allowed. Reload the page and try again.",
        "error.400": "Please check what you typed.",
        "error.500": "Something went wrong. Nothing was changed. Please try again later.",
        "error.expired": "You were signed out after a while without activity. Please sign in again.",
        "back": "Back",
        "js_needed": "Confirming the operator card needs JavaScript.",
    },
}


class Catalogue:
    """Several apps' messages merged; ``text(lang, key)`` is one message (the key itself
    if it is missing, so a page never fails on a string)."""

    def __init__(self, *parts: Messages) -> None:
        self.messages: dict[Lang, dict[str, str]] = {lang: {} for lang in LANGS}
        for part in parts:
            for lang in LANGS:
                self.messages[lang].update(part.get(lang, {}))

    def text(self, lang: Lang, key: str) -> str:
        return self.messages[lang].get(key, key)


def lang_of(cookie: str | None) -> Lang:
    return "en" if cookie == "en" else "ja"
