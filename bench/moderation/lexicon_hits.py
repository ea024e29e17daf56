"""Where the lexicon's time goes: hits of very short Latin terms, and what they cost.

    .venv/bin/python bench/moderation/lexicon_hits.py [--messages 30000] [--rounds 5]

Builds the lexicon of ``speed.py`` (starter lists + 100,000 public terms) and counts, over the
same messages, the automaton's hits per message and those of the Latin terms of one or two
characters (``p``, ``b``, ``1``, ``qq``), which match inside most words and are then rejected by
the whole-word test. A hit of such a term is a whole word exactly when it is a full run of
ASCII letters or of digits, which is how the accepted ones are counted here.

It then times ``Lexicon.scan`` (CPU time of this process, one core, best of interleaved
rounds) with all terms and with those short Latin terms left out. The difference is the most
any change can gain by removing their rejected hits (leaving them out also drops their real
hits, so it is an upper bound); the cost of finding the real ones another way must come off it.
"""

from __future__ import annotations

import argparse
import gc
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import datasets  # noqa: E402
import speed  # noqa: E402

from qunyun.moderation.detection.lexicon import STARTER_DIR, Lexicon, LexiconTerm, read_lexicon_file  # noqa: E402
from qunyun.moderation.detection.normalize import compact, fold, normalize  # noqa: E402

_RUN_RE = re.compile(r"[A-Za-z]+|[0-9]+")


def _short_latin(term: str) -> bool:
    key = compact(fold(term)).strip()
    return len(key) <= 2 and key.isascii() and (key.isalpha() or key.isdigit())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=30_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if not datasets.available():
        print(f"skipped: {datasets.DATA} not found")
        return 0
    terms = [t for f in sorted(STARTER_DIR.glob("*.txt")) for t in read_lexicon_file(f)]
    terms += [LexiconTerm(t, "illegal", 0.3) for t in speed.build_terms()]
    short = [t for t in terms if _short_latin(t.term)]
    full = Lexicon(terms).build()
    without = Lexicon(t for t in terms if not _short_latin(t.term)).build()
    only_short = Lexicon(short).build()
    short_keys = {compact(fold(t.term)).strip() for t in short}

    norms = [normalize(t) for t in speed.messages()[: args.messages]]
    n = len(norms)
    raw = sum(full.count_matches(x.compact) for x in norms)
    raw_short = sum(only_short.count_matches(x.compact) for x in norms)
    whole_short = sum(1 for x in norms for run in _RUN_RE.findall(x.compact) if run in short_keys)
    with_finding = sum(1 for x in norms if full.scan(x))

    best = {"all terms": float("inf"), "without the short Latin terms": float("inf")}
    lexicons = {"all terms": full, "without the short Latin terms": without}
    for r in range(args.rounds):
        for name in list(best) if r % 2 == 0 else list(best)[::-1]:
            scan = lexicons[name].scan
            gc.collect()
            t0 = time.process_time()
            for x in norms:
                scan(x)
            best[name] = min(best[name], time.process_time() - t0)

    with open("/proc/loadavg") as fh:
        load = fh.read().split()[0]
    print(f"{n} messages, {len(full)} terms, of which {len(short_keys)} Latin terms of one or two characters")
    print(f"automaton hits: {raw} ({raw / n:.2f} per message); messages with a lexicon finding: "
          f"{with_finding} ({with_finding / n:.0%})")
    print(f"hits of the short Latin terms: {raw_short} ({raw_short / max(raw, 1):.0%} of all hits), "
          f"of which whole words: {whole_short}")
    print(f"Lexicon.scan, best of {args.rounds} interleaved rounds, CPU time of one core, load average {load}")
    for name, secs in best.items():
        print(f"| {name} | {secs / n * 1e6:.2f} µs/msg |")
    a, b = best["all terms"], best["without the short Latin terms"]
    print(f"ratio without / all (time): {b / a:.3f}; at most {(a - b) / n * 1e6:.2f} µs/msg to gain")
    return 0


if __name__ == "__main__":
    sys.exit(main())
