"""A tile map of Japan's 47 prefectures, drawn as SVG from the prefecture codes (JIS X
0401): one square per prefecture, placed roughly where it lies, coloured by the state
of the network's nodes there. Built here rather than shipped as a picture, so that
it follows the topology and a screen reader gets each tile's title."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from markupsafe import Markup

# (column, row) of each prefecture's tile, north-east to south-west.
TILES: dict[str, tuple[int, int]] = {
    "01": (11, 0), "02": (10, 1), "05": (9, 2), "03": (10, 2), "06": (9, 3), "04": (10, 3),
    "15": (9, 4), "07": (10, 4), "17": (6, 5), "16": (7, 5), "20": (8, 5), "10": (9, 5),
    "09": (10, 5), "18": (6, 6), "21": (7, 6), "19": (8, 6), "11": (9, 6), "08": (10, 6),
    "32": (2, 7), "31": (3, 7), "28": (4, 7), "26": (5, 7), "25": (6, 7), "23": (7, 7),
    "22": (8, 7), "13": (9, 7), "12": (10, 7), "35": (1, 8), "34": (2, 8), "33": (3, 8),
    "27": (4, 8), "29": (5, 8), "24": (6, 8), "14": (9, 8), "41": (0, 9), "40": (1, 9),
    "38": (2, 9), "37": (3, 9), "36": (4, 9), "30": (5, 9), "42": (0, 10), "43": (1, 10),
    "44": (2, 10), "39": (3, 10), "46": (1, 11), "45": (2, 11), "47": (0, 12),
}  # fmt: skip
SIZE, GAP = 56, 4
STATES = ("up", "stopped", "down")  # worst last


def worst(states: list[str]) -> str | None:
    """The worst of a prefecture's nodes' states (down, then stopped, then up)."""
    return max(states, key=STATES.index) if states else None


def japan_map(names: Mapping[str, str], states: Mapping[str, str], label: str) -> Markup:
    """The SVG: ``names`` of the 47 prefectures by two-digit code, ``states`` (up,
    stopped, down) of those that have nodes, ``label`` the map's accessible name."""
    step = SIZE + GAP
    width = step * (1 + max(c for c, _ in TILES.values()))
    height = step * (1 + max(r for _, r in TILES.values()))
    parts = [
        f'<svg class="map" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="map-title"><title id="map-title">{escape(label)}</title>'
    ]
    for code, (col, row) in sorted(TILES.items()):
        state = states.get(code)
        css = f"tile node-{state}" if state else "tile"
        name = names.get(code, code)
        title = f"{name}: {state}" if state else name
        x, y = col * step, row * step
        parts.append(
            f'<g data-prefecture="{code}"><title>{escape(title)}</title>'
            f'<rect class="{css}" x="{x}" y="{y}" width="{SIZE}" height="{SIZE}" rx="6"/>'
            f'<text x="{x + SIZE / 2}" y="{y + SIZE / 2 + 4}" text-anchor="middle">'
            f"{escape(name[:4])}</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
