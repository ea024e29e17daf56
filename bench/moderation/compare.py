"""Text pipeline speed of the working tree against an earlier commit, in one process.

    .venv/bin/python bench/moderation/compare.py REV [--rounds 9] [--messages 30000]

On a shared machine the throughput of ``speed.py`` moves by ±10 % with the neighbours' load,
more than most single changes are worth. This script loads both versions of
``qunyun.moderation`` side by side (the old one from ``git archive REV``, each as its own
top-level package: the detectors import each other relatively and import no Django), builds
the same 100,000-term lexicon for each, and times ``text_findings`` over the same messages in
interleaved rounds. It prints the best round of each (CPU time of this process, one core) and
their ratio, which is what to compare between runs.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import datasets  # noqa: E402
import speed  # noqa: E402

PKG = "src/qunyun/moderation"


def _stage(tmp: Path, name: str, rev: str | None) -> None:
    """Put a copy of the moderation package under ``tmp/name/moderation``."""
    dest = tmp / name
    dest.mkdir()
    (dest / "__init__.py").write_text("")
    if rev is None:
        shutil.copytree(ROOT / PKG, dest / "moderation", ignore=shutil.ignore_patterns("__pycache__"))
        return
    data = subprocess.run(["git", "-C", str(ROOT), "archive", rev, PKG], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(tmp / f"{name}_src", filter="data")
    shutil.move(str(tmp / f"{name}_src" / PKG), str(dest / "moderation"))


def _load(name: str, terms: list[str]):
    lexm = importlib.import_module(name + ".moderation.detection.lexicon")
    ver = importlib.import_module(name + ".moderation.detection.verdict")
    lex = lexm.Lexicon()
    for f in sorted(lexm.STARTER_DIR.glob("*.txt")):
        for term in lexm.read_lexicon_file(f):
            lex.add(term)
    for t in terms:
        lex.add(lexm.LexiconTerm(t, "illegal", 0.3))
    lex.build()
    return ver.text_findings, ver.Context(lexicon=lex)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rev", help="the commit to compare against (e.g. HEAD~3)")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--messages", type=int, default=30_000)
    args = ap.parse_args()
    if not datasets.available():
        print(f"skipped: {datasets.DATA} not found")
        return 0
    terms = speed.build_terms()
    texts = speed.messages()[: args.messages]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        _stage(tmp, "q_old", args.rev)
        _stage(tmp, "q_new", None)
        sys.path.insert(0, str(tmp))
        impl = {"old": _load("q_old", terms), "new": _load("q_new", terms)}
        best = {k: float("inf") for k in impl}
        for r in range(args.rounds):
            for k in (("old", "new") if r % 2 == 0 else ("new", "old")):
                tf, ctx = impl[k]
                gc.collect()
                t0 = time.process_time()
                for t in texts:
                    tf(t, ctx)
                best[k] = min(best[k], time.process_time() - t0)
    n = len(texts)
    with open("/proc/loadavg") as fh:
        load = fh.read().split()[0]
    print(f"{n} messages, best of {args.rounds} interleaved rounds, CPU time of one core, load average {load}")
    for k, label in (("old", args.rev), ("new", "working tree")):
        print(f"| {label} | {n / best[k]:,.0f} msg/CPU-s | {best[k] / n * 1e6:.2f} µs/msg |")
    print(f"ratio new / old (time): {best['new'] / best['old']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
