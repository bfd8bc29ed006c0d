"""The operator card in the browser: a WebAuthn authenticator (py_webauthn), registered
to an account through a one-time link an administrator made, and asked for at every
sign-in after the password (R11: no session without both)."""

from __future__ import annotations

from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from jukinet.errors import AuthenticationFailed
from jukinet.web.common.accounts import Account, Credential
from jukinet.web.common.site import Site


def registration_options(site: Site, account: Account) -> tuple[str, bytes]:
    """The options JSON for ``navigator.credentials.create`` and its challenge."""
    options = generate_registration_options(
        rp_id=site.rp_id,
        rp_name="jukinet",
        user_name=account.username,
        user_id=base64url_to_bytes(account.user_handle),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(c.id)) for c in account.credentials
        ],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )
    return options_to_json(options), options.challenge


def registered(site: Site, account: Account, challenge: bytes, response: dict[str, Any]) -> Account:
    """``account`` with the new credential; AuthenticationFailed if it does not verify."""
    try:
        verified = verify_registration_response(
            credential=response, expected_challenge=challenge,
            expected_rp_id=site.rp_id, expected_origin=site.origin,
        )  # fmt: skip
    except (InvalidRegistrationResponse, ValueError, KeyError) as exc:
        raise AuthenticationFailed(f"The operator card could not be registered: {exc}") from None
    credential = Credential(
        id=bytes_to_base64url(verified.credential_id),
        public_key=bytes_to_base64url(verified.credential_public_key),
        sign_count=verified.sign_count,
    )
    return account.model_copy(
        update={"credentials": [*account.credentials, credential], "enrol_hash": None,
                "enrol_until": None}
    )  # fmt: skip


def authentication_options(site: Site, account: Account) -> tuple[str, bytes]:
    options = generate_authentication_options(
        rp_id=site.rp_id,
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(c.id)) for c in account.credentials
        ],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options), options.challenge


def authenticated(
    site: Site, account: Account, challenge: bytes, response: dict[str, Any]
) -> Account:
    """``account`` with the card's new signature count, once its assertion verifies
    against one of the account's credentials; AuthenticationFailed otherwise."""
    wanted = str(response.get("id", ""))
    credential = next((c for c in account.credentials if c.id == wanted), None)
    if credential is None:
        raise AuthenticationFailed("This operator card is not registered to the account.")
    try:
        verified = verify_authentication_response(
            credential=response, expected_challenge=challenge, expected_rp_id=site.rp_id,
            expected_origin=site.origin,
            credential_public_key=base64url_to_bytes(credential.public_key),
            credential_current_sign_count=credential.sign_count,
        )  # fmt: skip
    except (InvalidAuthenticationResponse, ValueError, KeyError) as exc:
        raise AuthenticationFailed(f"The operator card was refused: {exc}") from None
    updated = credential.model_copy(update={"sign_count": verified.new_sign_count})
    others = [c for c in account.credentials if c.id != wanted]
    return account.model_copy(update={"credentials": [*others, updated]})
