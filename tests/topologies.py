"""Topologies the tests start networks of real node processes from (TOML, as
``jukinet network init --topology`` reads it)."""

from __future__ import annotations

from collections.abc import Sequence

TOKYO_WELFARE = ("tokyo-pref", "東京都 福祉局")
PENSION_FUND = ("pension-fund", "日本年金機構")


def three_nodes(
    base: int,
    name: str,
    residents: int = 0,
    agencies: Sequence[tuple[str, str]] = (),
    shinjuku: int | None = None,
) -> str:
    """The national node, Tokyo's prefecture and Chiyoda (with ``residents`` synthetic
    residents) on ports ``base`` to ``base + 2``, and the ``agencies`` (code, name);
    with ``shinjuku`` (its number of residents), Shinjuku too, on ``base + 3``."""
    more = [] if shinjuku is None else [
        f'[[municipalities]]\ncode = "131041"\nport = {base + 3}\nresidents = {shinjuku}'
    ]  # fmt: skip
    lines = [
        f'[network]\nname = "{name}"',
        f"[national]\nport = {base}",
        f'[[prefectures]]\ncode = "130001"\nport = {base + 1}',
        f'[[municipalities]]\ncode = "131016"\nport = {base + 2}\nresidents = {residents}',
        *more,
        *(f'[[agencies]]\ncode = "{code}"\nname = "{label}"' for code, label in agencies),
    ]
    return "\n".join(lines) + "\n"
