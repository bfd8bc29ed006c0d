"""Benchmark: rendering copies of the resident record with the long-lived compiler.

    .venv/bin/python -m bench.copy_render [--copies 200] [--out copy.pdf]

Measures, in one process: making the renderer (reading IPAmj Mincho's tables with
fontTools, Typst loading the font folder), the first copy (Typst's first layout of
the template and the font), then ``--copies`` more, each with its own serial and QR
text so nothing is served from a cache of identical inputs: p50, p99, copies/s. A
copy here is a household of three with relationships and codes, variant kanji and a
variation sequence in the names (the coverage check included in each figure).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from datetime import date
from importlib.metadata import version

from jukinet.documents.render import CopyRenderer
from jukinet.domain.copies import CopyPerson, ResidentCopy
from jukinet.domain.identity import Sex
from jukinet.domain.record import Name


def household(n: int) -> ResidentCopy:
    def person(name: Name, relationship: str, code: str) -> CopyPerson:
        return CopyPerson(
            name=name,
            date_of_birth=date(1980, 5, 5),
            sex=Sex.MALE,
            became_resident_on=date(2020, 4, 1),
            address_fixed_on=date(2020, 4, 1),
            notified_on=date(2020, 4, 3),
            previous_address="大阪府大阪市北区梅田一丁目1番1号",
            relationship=relationship,
            resident_code=code,
        )

    return ResidentCopy(
        serial=f"131016-2026-{n:06d}",
        issuer_code="131016",
        issuer_name="東京都千代田区",
        mayor_title="千代田区長",
        mayor_name="山田 太郎",
        issued_on=date(2026, 12, 2),
        address=f"東京都千代田区丸の内一丁目{n % 9 + 1}番1号",
        head_name="髙橋 𠮷男",
        persons=(
            person(Name("髙橋", "𠮷男", "タカハシ", "ヨシオ"), "世帯主", "12345678901"),
            person(Name("髙橋", "葛\U000e0102子", "タカハシ", "カツコ"), "妻", "12345678902"),
            person(Name("髙橋", "﨑太", "タカハシ", "サキタ"), "子", "12345678903"),
        ),
        home_code="131016",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=200)
    parser.add_argument("--out", help="write the first copy's PDF here, to look at it")
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"typst (Python binding) {version('typst')}")
    started = time.perf_counter()
    renderer = CopyRenderer()
    made = time.perf_counter() - started
    started = time.perf_counter()
    first = renderer.render(household(0), "JKN1.first")
    first_s = time.perf_counter() - started
    if args.out:
        with open(args.out, "wb") as out:
            out.write(first)
    times = []
    for n in range(1, args.copies + 1):
        started = time.perf_counter()
        renderer.render(household(n), f"JKN1.token-{n:06d}")
        times.append(time.perf_counter() - started)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"renderer made (font tables + compiler): {made * 1000:.0f} ms")
    print(f"first copy: {first_s * 1000:.1f} ms ({len(first):,} bytes)")
    print(
        f"following {len(times)} copies: p50 {statistics.median(times) * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms, {len(times) / sum(times):.0f} copies/s"
    )


if __name__ == "__main__":
    main()
