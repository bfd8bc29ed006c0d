"""GET CHALLENGE, EXTERNAL and INTERNAL AUTHENTICATE: mutual authentication (R17).

The terminal proves itself first: it asks for a challenge, then sends its certificate
chain (to the anchor the card stores for the selected application) and its signature
over that challenge (:mod:`jukinet.card.certs`). The card then proves itself: it signs
the terminal's challenge with its own key, whose certificate (by the issuing
municipality) the terminal reads from an EF. A challenge serves one attempt only.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from jukinet.card import certs
from jukinet.card.apdu import MAX_SHORT_LE, Command, Response
from jukinet.card.content import KeyKind, KeyUsage
from jukinet.card.state import Context, answer, status
from jukinet.card.sw import SW

MIN_CHALLENGE = 8
MAX_CHALLENGE = 64


def get_challenge(ctx: Context, cmd: Command) -> Response:
    if cmd.p1p2 != 0:
        return status(SW.WRONG_P1_P2)
    if cmd.data or cmd.le is None or cmd.le > MAX_SHORT_LE:
        return status(SW.WRONG_LENGTH)
    challenge = ctx.random(cmd.le)
    ctx.session.challenge = challenge
    return Response(challenge, SW.OK)


def external_authenticate(ctx: Context, cmd: Command) -> Response:
    if cmd.p1p2 != 0:
        return status(SW.WRONG_P1_P2)
    if not cmd.data or cmd.le is not None:
        return status(SW.WRONG_LENGTH)
    session = ctx.session
    app = session.app
    if app is None or app.terminal_ca is None:
        return status(SW.FUNCTION_NOT_SUPPORTED)
    challenge, session.challenge, session.rights = session.challenge, None, 0
    if challenge is None or len(challenge) < MIN_CHALLENGE:
        return status(SW.CONDITIONS_NOT_SATISFIED)
    try:
        chain, signature = certs.parse_external_authenticate(cmd.data)
    except certs.CertificateError:
        return status(SW.WRONG_DATA)
    try:
        terminal = certs.verify_chain(app.terminal_ca, chain, app.aid)
        Ed25519PublicKey.from_public_bytes(terminal.public_key).verify(
            signature, certs.external_message(app.aid, challenge)
        )
    except (certs.CertificateError, InvalidSignature, ValueError):
        return status(SW.VERIFICATION_FAILED)
    session.rights = terminal.rights
    return status(SW.OK)


def internal_authenticate(ctx: Context, cmd: Command) -> Response:
    if cmd.p1p2 != 0:
        return status(SW.WRONG_P1_P2)
    if not cmd.data or cmd.le is None:
        return status(SW.WRONG_LENGTH)
    app = ctx.session.app
    key = (
        next((k for k in app.keys.values() if k.usage is KeyUsage.INTERNAL_AUTHENTICATE), None)
        if app
        else None
    )
    if app is None or key is None or key.kind is not KeyKind.ED25519:
        return status(SW.FUNCTION_NOT_SUPPORTED)
    if not ctx.session.satisfies(key.use):
        return status(SW.SECURITY_STATUS_NOT_SATISFIED)
    if not MIN_CHALLENGE <= len(cmd.data) <= MAX_CHALLENGE:
        return status(SW.WRONG_DATA)
    signer = Ed25519PrivateKey.from_private_bytes(key.private)
    return answer(cmd, signer.sign(certs.internal_message(app.aid, cmd.data)))
