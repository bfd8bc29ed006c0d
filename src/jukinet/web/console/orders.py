"""Emergency orders from the console (R9, docs/ui.md): the operator's signature line is
made with their own Ed25519 key, unsealed with the password they type on the
confirmation step (``web/common/sealed_key.py``) for that one signature. The order
goes to the national node's ``POST /emergency`` as ``jukinet emergency`` sends it; a
resume waits in ``DIR/operators/pending/`` (the CLI's place, so either may approve it)
for a second, different operator. The national node checks and audits every order."""

from __future__ import annotations

from jukinet.errors import AuthenticationFailed
from jukinet.network.emergency import cosign, new_order
from jukinet.network.emergency_orders import drop_pending, load_pending, post_order, save_pending
from jukinet.network.layout import NetworkLayout
from jukinet.network.messages_emergency import Action, EmergencyAck, EmergencyOrder, SignedOrder
from jukinet.web.common.accounts import AccountFile
from jukinet.web.common.sealed_key import unseal

VALID_FOR = 3600.0


def _signed(
    accounts: AccountFile, operator: str, password: str, order: EmergencyOrder | SignedOrder
) -> SignedOrder:
    account = accounts.get(operator)
    if account is None or account.sealed_key is None:
        raise AuthenticationFailed(f"{operator} has no emergency key in the console.")
    key = unseal(account.sealed_key, password, operator)
    return cosign(order, operator, key)  # the key goes out of scope here


def order_now(
    layout: NetworkLayout,
    national_url: str,
    accounts: AccountFile,
    operator: str,
    password: str,
    action: Action,
    scope: str,
) -> EmergencyAck | SignedOrder:
    """Isolate or halt at once (one operator); a resume is signed and left pending."""
    signed = _signed(accounts, operator, password, new_order(action, scope, valid_for=VALID_FOR))
    if action != "resume":
        return post_order(layout, national_url, signed)
    save_pending(layout, signed)
    return signed


def approve(
    layout: NetworkLayout,
    national_url: str,
    accounts: AccountFile,
    operator: str,
    password: str,
    order_id: str,
) -> EmergencyAck:
    """A second operator's signature on a pending resume, then sent; the file goes once
    the national node accepted it (a refusal leaves it for another operator)."""
    signed = _signed(accounts, operator, password, load_pending(layout, order_id))
    ack = post_order(layout, national_url, signed)
    drop_pending(layout, order_id)
    return ack
