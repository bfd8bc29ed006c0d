"""Status words (ISO/IEC 7816-4 §5.6) the card answers with."""

from __future__ import annotations

from enum import IntEnum


class SW(IntEnum):
    OK = 0x9000
    END_OF_FILE = 0x6282
    """Warning: fewer bytes than Le were left in the file (they are returned)."""
    VERIFICATION_FAILED = 0x6300
    """EXTERNAL AUTHENTICATE: the terminal's certificates or signature do not verify."""
    MEMORY_FAILURE = 0x6581
    WRONG_LENGTH = 0x6700
    LOGICAL_CHANNEL_NOT_SUPPORTED = 0x6881
    SECURE_MESSAGING_NOT_SUPPORTED = 0x6882
    CHAINING_NOT_SUPPORTED = 0x6884
    INCOMPATIBLE_FILE = 0x6981
    """The command does not apply to this kind of file (e.g. READ BINARY on a key)."""
    SECURITY_STATUS_NOT_SATISFIED = 0x6982
    REFERENCE_DATA_BLOCKED = 0x6984
    """The PIN's retry counter is at zero (JPKI answers 6984, not 6983)."""
    CONDITIONS_NOT_SATISFIED = 0x6985
    NO_CURRENT_EF = 0x6986
    WRONG_DATA = 0x6A80
    FUNCTION_NOT_SUPPORTED = 0x6A81
    FILE_NOT_FOUND = 0x6A82
    WRONG_P1_P2 = 0x6A86
    WRONG_OFFSET = 0x6B00
    WRONG_LE = 0x6C00
    """SW2 carries the exact length available (00 = 256)."""
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    NO_PRECISE_DIAGNOSIS = 0x6F00


def tries_left(n: int) -> int:
    """``63Cx``: a PIN check failed, or was only asked; ``x`` tries are left (0–15)."""
    return 0x63C0 | min(max(n, 0), 15)


def wrong_le(available: int) -> int:
    """``6Cxx``: Le was too short; ``xx`` is the exact length (256 → 00)."""
    return 0x6C00 | (available & 0xFF)
