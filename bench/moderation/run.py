"""Moderation benchmark: quality on the development sets and speed, in one command.

    .venv/bin/python bench/moderation/run.py                # print the figures
    .venv/bin/python bench/moderation/run.py --write-docs   # also update docs/benchmarks.md

Skips (exit 0, with a message) when /work/shared/data is absent: the development sets are not
shipped with qunyun. ``--write-docs`` replaces only the "## Moderation" section of
docs/benchmarks.md, leaving other sections alone (and keeping a hand-written "### Before and
after" subsection at its end).
"""

from __future__ import annotations

import os
import platform
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import datasets  # noqa: E402

ROOT = HERE.parents[1]
DOC = ROOT / "docs" / "benchmarks.md"


def _machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {load:.1f} when the run started"
    )


KEPT = "### Before and after"
"""A subsection written by hand (earlier figures for comparison): kept when the section is rewritten."""


def write_section(body: str) -> None:
    section = "## Moderation\n\n" + body.rstrip() + "\n"
    if DOC.exists():
        text = DOC.read_text(encoding="utf-8")
        pattern = re.compile(r"^## Moderation\n.*?(?=^## |\Z)", re.S | re.M)
        old = pattern.search(text)
        if old and KEPT in old.group(0):
            section += "\n" + old.group(0)[old.group(0).index(KEPT):].rstrip() + "\n"
        if pattern.search(text):
            text = pattern.sub(lambda _m: section + "\n", text, count=1).rstrip() + "\n"
        else:
            text = text.rstrip() + "\n\n" + section
    else:
        text = "# Benchmarks\n\n" + section
    DOC.write_text(text, encoding="utf-8")


def main() -> int:
    if not datasets.available():
        print(f"skipped: {datasets.DATA} not found (the development sets are not shipped with qunyun)")
        return 0
    import dev
    import quality
    import speed

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    machine = _machine()
    q = quality.run()
    d = dev.run()
    s = speed.run()
    body = "\n".join(
        [
            f"Measured {started} with `.venv/bin/python bench/moderation/run.py` ({machine}).",
            "",
            "### Quality (default policy; flagged = review or block)",
            "",
            "Rules and weights were chosen looking only at the dev splits (`bench/moderation/dev.py`: the",
            "ads-zh-game-chat train file and the even sha1 half of its validation file, the mudou train",
            "file, comments-zh rows 40k–60k, the #ubuntu train folder). The tables below are the test",
            "splits (the odd half of the game validation file, the mudou test file, comments rows 0–40k,",
            "#ubuntu test and dev folders first); the dev figures follow them for reference.",
            "",
            *q,
            "",
            *d,
            "",
            "### Speed (one core)",
            "",
            *s,
        ]
    )
    print(body)
    if "--write-docs" in sys.argv:
        write_section(body)
        print(f"\n(wrote the Moderation section of {DOC})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
