"""The card's security rules restated for the tests, independently of the chip's code:
what may change, and what may be answered, for one command."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_der_private_key

from jukinet.card.content import READ, UPDATE, Access, CardContent
from jukinet.card.machine import CardChip

Ref = tuple[bytes, int]  # (AID, FID)


@dataclass(frozen=True)
class Snapshot:
    pins: dict[Ref, tuple[bytes, int, int]]  # value, tries left, max tries
    files: dict[Ref, bytes]
    keys: dict[Ref, bytes]
    app: bytes | None
    ef: int | None
    verified: frozenset[int]
    rights: int


def snapshot(chip: CardChip) -> Snapshot:
    content, session = chip.content, chip.session
    return Snapshot(
        pins={
            (a.aid, p.fid): (p.value, p.tries_left, p.max_tries)
            for a in content.applications
            for p in a.pins.values()
        },
        files={(a.aid, f.fid): f.data for a in content.applications for f in a.files.values()},
        keys={(a.aid, k.fid): k.private for a in content.applications for k in a.keys.values()},
        app=session.app.aid if session.app else None,
        ef=session.ef,
        verified=frozenset(session.verified),
        rights=session.rights,
    )


def allowed(content: CardContent, snap: Snapshot, access: Access) -> bool:
    """The rule of an access condition, as docs/card.md states it."""
    if access.rights & ~snap.rights:
        return False
    if access.pin is None:
        return True
    app = content.application(snap.app) if snap.app else None
    pin = app.pins.get(access.pin) if app else None
    return pin is not None and (pin.waived or access.pin in snap.verified)


def check(content: CardContent, before: Snapshot, after: Snapshot, raw: bytes, out: bytes) -> None:
    """Everything the answer ``out`` to ``raw`` may have done, and nothing else."""
    assert len(out) >= 2, "every answer ends in a status word"
    sw = int.from_bytes(out[-2:], "big")
    cla, ins = (raw[0], raw[1]) if len(raw) >= 4 else (None, None)
    ok = sw == 0x9000
    app = content.application(before.app) if before.app else None
    current = (before.app, before.ef) if before.app and before.ef is not None else None

    assert after.keys == before.keys, "keys never change"
    for ref, data in after.files.items():
        if data != before.files[ref]:
            assert (cla, ins, ok, ref) == (0x00, 0xD6, True, current), "a file changed"
            assert before.rights & UPDATE
    for ref, (value, tries, most) in after.pins.items():
        old_value, old_tries, _ = before.pins[ref]
        assert 0 <= tries <= most
        if value != old_value:
            assert (cla, ins, ok, ref) in ((0, 0x24, True, current), (0, 0x2C, True, current))
        if tries != old_tries:
            assert ref == current and cla == 0x00
            wrong = ins == 0x20 and tries == old_tries - 1 and sw in (0x6581, 0x63C0 | tries)
            reset = ins in (0x20, 0x24, 0x2C) and ok and tries == most
            assert wrong or reset, f"tries {old_tries} -> {tries} by {raw.hex()} / {sw:04X}"

    if cla == 0x00 and ins == 0x20 and current in after.pins and sw & 0xFFF0 == 0x63C0:
        tries_before, tries_after = before.pins[current][1], after.pins[current][1]
        assert sw & 0xF == min(tries_after, 15), "63Cx tells the tries left"
        if len(raw) > 5:  # a PIN was sent, and it was wrong: the try is spent
            assert tries_after == tries_before - 1
    if cla == 0x00 and ins == 0x20 and ok:
        assert current in after.pins and after.pins[current][1] == after.pins[current][2]

    entered = cla == 0x00 and ins == 0xA4 and ok and raw[2] in (0x00, 0x04) and after.ef is None
    if after.app != before.app:
        assert entered
    if not entered:
        gained = after.verified - before.verified
        if gained:
            assert (cla, ins, ok) == (0x00, 0x20, True) and gained == frozenset({before.ef})
        lost = before.verified - after.verified
        if lost:
            assert (cla, ins) == (0x00, 0x20) and lost == frozenset({before.ef}) and not ok
        if after.rights & ~before.rights:
            assert (cla, ins, ok) == (0x00, 0x82, True)
        if after.rights != before.rights:
            assert (cla, ins) == (0x00, 0x82)
        if after.ef != before.ef:
            assert (cla, ins, ok) == (0x00, 0xA4, True)
    else:
        assert (after.verified, after.rights) == (frozenset(), 0)

    if cla == 0x00 and ins == 0xB0 and sw in (0x9000, 0x6282) and len(out) > 2:
        assert app is not None and before.ef in app.files
        assert allowed(content, before, app.files[before.ef].read), "read without the right"
    if cla == 0x80 and ins == 0x2A and ok:
        assert app is not None and before.ef in app.keys
        assert allowed(content, before, app.keys[before.ef].use), "signed without the PIN"
    if cla == 0x00 and ins == 0x88 and ok:
        assert before.rights & READ, "the card answered an unauthenticated terminal"


def secrets_of(content: CardContent) -> list[bytes]:
    """Every private key's secret numbers (RSA d, p, q and the CRT parts; Ed25519's
    32 bytes). Not the PKCS#8 whole: it holds the public modulus, which certificates show."""
    out: list[bytes] = []
    for app in content.applications:
        for key in app.keys.values():
            if len(key.private) == 32:
                out.append(key.private)
            else:
                rsa = load_der_private_key(key.private, None)
                assert isinstance(rsa, RSAPrivateKey)
                n = rsa.private_numbers()
                for value in (n.d, n.p, n.q, n.dmp1, n.dmq1, n.iqmp):
                    out.append(value.to_bytes((value.bit_length() + 7) // 8, "big"))
    return out


def leaks(answer: bytes, secrets: list[bytes], window: int = 12) -> bool:
    """Whether ``answer`` holds any aligned ``window`` bytes of a secret (so any run of
    23 bytes or more of it)."""
    return any(
        secret[at : at + window] in answer
        for secret in secrets
        for at in range(0, len(secret) - window + 1, window)
    )
