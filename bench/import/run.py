"""Import benchmark: a generated Telegram Desktop export into SQLite, against ``chat-analytics``.

    .venv/bin/python bench/import/run.py                 # 100k and 1M messages, with the peer
    .venv/bin/python bench/import/run.py --sizes 100000 --no-peer --profile

For each size it writes a Telegram Desktop export (streamed to a temporary file), then in a
fresh child process per run (pinned to one CPU core, its own empty QUNYUN_HOME):

* ``parse``: ``qunyun import telegram --dry-run`` — the importer alone (decoding + conversion);
* ``import``: the full import into SQLite through the runtime's store (what users run);

and reports messages/s and the child's peak memory (``ru_maxrss``). The peer is the
``chat-analytics`` npm CLI (``chat-analytics -p telegram -i FILE -o report.html``) on the same
file, installed on first use into ``bench/import/node_modules`` (git-ignored); the ratio is
qunyun's import rate over the peer's.

* ``--baseline REV`` also reads each file (parse only) with the code of git revision ``REV``, in
  the same run, and prints the ratio (and whether the event counts agree); without
  ``--parse-only`` it also imports each file with that revision (alternating with this tree's
  run by run), for the import's ratio — on a shared machine the CPU time
  of the same work moves with the load, so only runs side by side compare;
* ``--profile`` adds a breakdown of one import's CPU time by stage (the store's steps timed in
  place, and a bulk load's closing rollup rebuild and index creation);
* ``--ordinary`` also imports each file the ordinary way (``--no-bulk``: indexes kept and rollups
  per batch, the path of every import before bulk loading), in the same run, for a ratio;
* ``--account`` also reads (parse only) a full-account export (``chats.list``, a third of its
  chats private) of the smallest size.

Results also go to ``bench/out/import.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PEER_VERSION = "1.1.2"  # as pinned in package.json
PEER_CLI = os.path.join(HERE, "node_modules", "chat-analytics", "dist", "lib", "CLI.js")


# --------------------------------------------------------------------------- child side


def _pin() -> None:
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    except (AttributeError, OSError):
        pass


def child(mode: str, path: str, home: str, batch_size: int, profile: bool, src: str) -> None:
    """``mode`` is ``parse``, ``import`` (bulk where the command would load in bulk) or ``ordinary``
    (an import with bulk loading off)."""
    """Run one import in this (fresh) process and print one JSON line of figures."""
    _pin()
    os.environ["QUNYUN_HOME"] = home
    os.environ["DJANGO_SETTINGS_MODULE"] = "qunyun.settings.default"
    os.environ.pop("QUNYUN_DATABASE_URL", None)
    sys.path.insert(0, src)  # this tree's code, or a baseline revision's (--baseline)
    from qunyun.cli.bootstrap import django_ready

    django_ready()
    from qunyun.communities.services import community_create
    from qunyun.platforms.importing import ImportOptions
    from qunyun.platforms.runner import import_run

    community = community_create(slug="bench", name="Bench", time_zone="Asia/Shanghai")
    options = ImportOptions(tz="Asia/Shanghai", keep_raw=False)

    extra = {"bulk": False} if mode == "ordinary" else {}  # (a baseline revision may not know the option)

    def go():
        return import_run(community=community, format_name="telegram", paths=[path], options=options,
                          dry_run=(mode == "parse"), batch_size=batch_size, progress=False, **extra)

    before = resource.getrusage(resource.RUSAGE_SELF)
    timers = _install_timers() if profile else None
    started = time.perf_counter()
    summary = go()
    seconds = time.perf_counter() - started
    stages = None
    if timers is not None:
        total_cpu = (resource.getrusage(resource.RUSAGE_SELF).ru_utime - before.ru_utime
                     + resource.getrusage(resource.RUSAGE_SELF).ru_stime - before.ru_stime)
        stages = {label: round(value, 3) for label, value in timers.items()}
        stages["everything else: importer, runner, batching (total − the above)"] = round(
            total_cpu - sum(v for k, v in timers.items() if not k.startswith(" ")), 3)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps({"mode": mode, "messages": summary.parsed["message"], "events": sum(summary.parsed.values()),
                      "stored": sum(summary.stored.values()), "skipped": summary.report.skipped,
                      "seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": after.ru_maxrss / 1024,
                      "bulk": getattr(summary, "bulk", False), "stages": stages}))


def _install_timers() -> dict[str, float]:
    """Wrap the store's steps with CPU-time accumulators (in this benchmark process only).

    Far lighter than cProfile, so the split is close to a normal run's. Nested steps are
    included in their parent's figure.
    """
    from qunyun.bus import runtime, store

    timers: dict[str, float] = {}

    def wrap(owner, name: str, label: str) -> None:
        original = getattr(owner, name)
        timers[label] = 0.0

        def timed(*args, **kwargs):
            started = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                timers[label] += time.process_time() - started

        setattr(owner, name, timed)

    wrap(runtime.Runtime, "ingest_batch", "runtime.ingest_batch (the store, one transaction per batch)")
    wrap(store.EventStore, "store", "  EventStore.store")
    wrap(store.EventStore, "_resolve_accounts", "    _resolve_accounts (new members, identities, names)")
    wrap(store.EventStore, "_track_names", "    _track_names")
    wrap(store.EventStore, "_reply_authors", "    _reply_authors")
    wrap(store.EventStore, "_insert", "    _insert (multi-row INSERT … ON CONFLICT DO NOTHING RETURNING)")
    wrap(store.EventStore, "_apply_memberships", "    _apply_memberships")
    wrap(store.EventStore, "_apply_rollups", "    _apply_rollups (member/group day, group hour)")
    wrap(store, "rollups_apply", "    analytics rollups_apply (qunyun.analytics.rollups)")
    try:
        from qunyun.bus import bulk
    except ImportError:  # a revision without bulk loading
        return timers
    wrap(bulk, "_rollups_rebuild", "bulk load: rollups rebuilt at the end (analytics rollups_rebuild)")
    wrap(bulk, "indexes_restore", "bulk load: event-log indexes created at the end")
    return timers


# --------------------------------------------------------------------------- parent side


def _run_child(mode: str, path: str, batch_size: int, profile: bool = False, src: str | None = None) -> dict:
    home = tempfile.mkdtemp(prefix="qunyun-bench-home-")
    try:
        proc = subprocess.run([sys.executable, __file__, "--child", mode, path, home, str(batch_size),
                               "1" if profile else "0", src or os.path.join(ROOT, "src")],
                              capture_output=True, text=True, timeout=7200)
        if proc.returncode != 0:
            raise SystemExit(f"child {mode} failed:\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _checkout(revision: str, work: str) -> str:
    """The ``src`` tree of ``revision`` (``git archive``), for the baseline runs."""
    target = os.path.join(work, "baseline")
    os.makedirs(target)
    archive = subprocess.run(["git", "-C", ROOT, "archive", revision, "src"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", target], input=archive.stdout, check=True)
    return os.path.join(target, "src")


def _ensure_peer() -> str | None:
    if os.path.exists(PEER_CLI):
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed"
    # package.json / package-lock.json here pin the peer's version.
    proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefix", HERE],
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0 or not os.path.exists(PEER_CLI):
        return "npm install chat-analytics failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1]
    return None


def _run_peer(path: str, out_dir: str) -> dict:
    """The peer on the same file: wall time and its peak memory (``wait4`` on the process)."""
    node = shutil.which("node")
    report = os.path.join(out_dir, "report.html")
    cmd = [node, "--max-old-space-size=8192", PEER_CLI, "-p", "telegram", "-i", path, "-o", report]
    out_path, err_path = os.path.join(out_dir, "peer.out"), os.path.join(out_dir, "peer.err")
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: one core, output to files, then become node
        try:
            _pin()
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
            os.execv(node, cmd)
        finally:
            os._exit(127)
    _pid, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    stdout = open(out_path, encoding="utf-8", errors="replace").read()
    stderr = open(err_path, encoding="utf-8", errors="replace").read()
    messages = None
    for line in stdout.splitlines():
        if line.strip().endswith(" messages") and "[*]" in line:
            messages = int(line.split("[*]")[1].split()[0].replace(",", ""))
    return {"ok": code == 0, "seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "messages": messages, "peak_rss_mb": usage.ru_maxrss / 1024,
            "error": None if code == 0 else (stderr.strip().splitlines() or [f"exit {code}"])[-1][:300]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="message counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size (the median is reported)")
    parser.add_argument("--batch-size", type=int, default=10000)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--parse-only", action="store_true", help="no import into SQLite (and no peer)")
    parser.add_argument("--profile", action="store_true", help="a CPU-time breakdown of the smallest size")
    parser.add_argument("--ordinary", action="store_true",
                        help="also import each file with bulk loading off (the ordinary path), for a ratio")
    parser.add_argument("--account", action="store_true",
                        help="also read a full-account export (chats.list) of the smallest size, parse only")
    parser.add_argument("--baseline", metavar="REV",
                        help="also read (parse only) each file with the importer of git revision REV, for a ratio")
    parser.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, path, home, batch, profile, src = args.child
        child(mode, path, home, int(batch), profile == "1", src)
        return
    sys.path.insert(0, HERE)
    from generate import generate, generate_account

    sizes = [int(s) for s in args.sizes.split(",")]
    work = tempfile.mkdtemp(prefix="qunyun-bench-import-")
    results: dict = {"sizes": {}, "cpu": os.cpu_count(), "load_before": os.getloadavg()}
    peer_problem = None if args.no_peer or args.parse_only else _ensure_peer()
    baseline_src = _checkout(args.baseline, work) if args.baseline else None
    try:
        for size in sizes:
            path = os.path.join(work, f"result_{size}.json")
            started = time.perf_counter()
            generate(path, size)
            print(f"generated {size:,} messages ({os.path.getsize(path) / 2**20:,.0f} MB) "
                  f"in {time.perf_counter() - started:.1f} s", flush=True)
            runs = {"parse": []} if args.parse_only else {"parse": [], "import": []}
            if args.ordinary and not args.parse_only:
                runs["ordinary"] = []
            base_imports = []
            for _ in range(args.repeat):
                for mode in runs:
                    runs[mode].append(_run_child(mode, path, args.batch_size))
                    r = runs[mode][-1]
                    print(f"  qunyun {mode:8} {r['messages']:>9,} messages in {r['seconds']:7.1f} s wall "
                          f"({r['messages'] / r['seconds']:>9,.0f} msg/s), {r['cpu_seconds']:7.1f} s CPU "
                          f"({r['messages'] / r['cpu_seconds']:>9,.0f} msg/CPU-s), peak {r['peak_rss_mb']:6.0f} MB",
                          flush=True)
                if baseline_src and not args.parse_only:  # the whole import with an earlier revision, alternating
                    base_imports.append(_run_child("import", path, args.batch_size, src=baseline_src))
            if base_imports:
                cpu = statistics.median(r["cpu_seconds"] for r in base_imports)
                now = statistics.median(r["cpu_seconds"] for r in runs["import"])
                results.setdefault("baseline", {"revision": args.baseline})[f"import {size}"] = {
                    "cpu_seconds": cpu, "seconds": statistics.median(r["seconds"] for r in base_imports),
                    "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in base_imports),
                    "stored": base_imports[0]["stored"]}
                n = base_imports[0]["messages"]
                print(f"  baseline {args.baseline[:10]} import {n:>9,} messages, {cpu:7.1f} s CPU "
                      f"({n / cpu:>9,.0f} msg/CPU-s), peak {base_imports[0]['peak_rss_mb']:.0f} MB; "
                      f"import now {cpu / now:.2f}x as fast (CPU)"
                      + ("" if base_imports[0]["stored"] == runs["import"][0]["stored"] else " (STORED COUNTS DIFFER)"),
                      flush=True)
            if baseline_src:  # the same file through an earlier revision's importer, in the same run
                base = [_run_child("parse", path, args.batch_size, src=baseline_src) for _ in range(args.repeat)]
                cpu = statistics.median(r["cpu_seconds"] for r in base)
                now = statistics.median(r["cpu_seconds"] for r in runs["parse"])
                results.setdefault("baseline", {"revision": args.baseline})[size] = {"cpu_seconds": cpu,
                                                                                    "events": base[0]["events"]}
                print(f"  baseline {args.baseline[:10]} parse {base[0]['messages']:>9,} messages, {cpu:7.1f} s CPU "
                      f"({base[0]['messages'] / cpu:>9,.0f} msg/CPU-s); parse now {cpu / now:.2f}x as fast"
                      + ("" if base[0]["events"] == runs["parse"][0]["events"] else " (EVENT COUNTS DIFFER)"),
                      flush=True)
            entry = {mode: {"seconds": statistics.median(r["seconds"] for r in rs),
                            "cpu_seconds": statistics.median(r["cpu_seconds"] for r in rs),
                            "messages": rs[0]["messages"], "stored": rs[0]["stored"],
                            "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in rs),
                            "bulk": rs[0].get("bulk", False)} for mode, rs in runs.items()}
            if not args.no_peer and not args.parse_only and peer_problem is None:
                peer = _run_peer(path, work)
                entry["peer"] = peer
                if peer["ok"]:
                    n = peer["messages"] or size
                    print(f"  chat-analytics {n:>9,} messages in {peer['seconds']:7.1f} s wall "
                          f"({n / peer['seconds']:>9,.0f} msg/s), {peer['cpu_seconds']:7.1f} s CPU "
                          f"({n / peer['cpu_seconds']:>9,.0f} msg/CPU-s), peak {peer['peak_rss_mb']:6.0f} MB",
                          flush=True)
                else:
                    print(f"  chat-analytics FAILED: {peer['error']}", flush=True)
            results["sizes"][size] = entry
            os.remove(path)
        if args.account:
            size = sizes[0]
            path = os.path.join(work, f"account_{size}.json")
            generate_account(path, size)
            r = _run_child("parse", path, args.batch_size)
            results["account"] = r
            print(f"\nfull-account export, {size:,} messages in 12 chats (4 private, left out): {r['events']:,} events "
                  f"read in {r['cpu_seconds']:.2f} s CPU ({r['events'] / r['cpu_seconds']:,.0f} events/CPU-s), "
                  f"peak {r['peak_rss_mb']:.0f} MB", flush=True)
            if baseline_src:
                base = _run_child("parse", path, args.batch_size, src=baseline_src)
                results["account_baseline"] = base
                print(f"  baseline {args.baseline[:10]}: {base['cpu_seconds']:.2f} s CPU "
                      f"({base['events'] / base['cpu_seconds']:,.0f} events/CPU-s); now "
                      f"{base['cpu_seconds'] / r['cpu_seconds']:.2f}x as fast"
                      + ("" if base["events"] == r["events"] else " (EVENT COUNTS DIFFER)"), flush=True)
            os.remove(path)
        if args.profile:
            size = sizes[0]
            path = os.path.join(work, f"result_{size}.json")
            generate(path, size)
            profiled = _run_child("import", path, args.batch_size, profile=True)
            results["profile"] = profiled
            print(f"\nwhere the CPU time of one {size:,}-message import goes (CPU seconds):")
            for label, seconds in profiled["stages"].items():
                print(f"  {label:68} {seconds:7.2f} s")
            print(f"  {'total':68} {profiled['cpu_seconds']:7.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["load_after"] = os.getloadavg()
    if peer_problem:
        results["peer_problem"] = peer_problem
        print(f"peer not run: {peer_problem}")
    _report(results)
    os.makedirs(os.path.join(ROOT, "bench", "out"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "out", "import.json"), "w") as f:
        json.dump(results, f, indent=2)


def _report(results: dict) -> None:
    print("\nsummary (one core each; SQLite; keep_raw off). Rates per wall second, and per CPU second")
    print("(the CPU figure is what a quiet machine would show as wall time; this machine may be shared):")
    print(f"  {'messages':>10} {'qunyun import':>22} {'parse only':>22} {'peak MB':>8} {'chat-analytics':>22} "
          f"{'peer MB':>8} {'ratio (CPU)':>11}")
    for size, entry in results["sizes"].items():
        imp, parse = entry.get("import"), entry["parse"]
        rate = f"{imp['messages'] / imp['seconds']:,.0f} / {imp['messages'] / imp['cpu_seconds']:,.0f}" if imp else "—"
        prate = f"{parse['messages'] / parse['seconds']:,.0f} / {parse['messages'] / parse['cpu_seconds']:,.0f}"
        peer = entry.get("peer")
        if peer and peer["ok"]:
            n = peer["messages"] or int(size)
            peer_text = f"{n / peer['seconds']:,.0f} / {n / peer['cpu_seconds']:,.0f}"
            peer_mb = f"{peer['peak_rss_mb']:.0f}"
            ratio = f"{(imp['messages'] / imp['cpu_seconds']) / (n / peer['cpu_seconds']):.1f}×"
        else:
            peer_text, peer_mb, ratio = "—", "—", "—"
        print(f"  {int(size):>10,} {rate:>22} {prate:>22} {(imp or parse)['peak_rss_mb']:>8.0f} {peer_text:>22} "
              f"{peer_mb:>8} {ratio:>11}")
    for size, entry in results["sizes"].items():
        imp, ordinary = entry.get("import"), entry.get("ordinary")
        if imp and ordinary:
            print(f"  {int(size):>10,} messages, the ordinary path (no bulk load) in the same run: "
                  f"{ordinary['messages'] / ordinary['seconds']:,.0f} / "
                  f"{ordinary['messages'] / ordinary['cpu_seconds']:,.0f} msg/s (wall / CPU), peak "
                  f"{ordinary['peak_rss_mb']:.0f} MB; the import is {ordinary['cpu_seconds'] / imp['cpu_seconds']:.2f}× "
                  f"as fast (CPU){'' if imp.get('bulk') else ' (it did not load in bulk)'}")
    print(f"  load average before/after: {results['load_before'][0]:.1f} / {results['load_after'][0]:.1f} "
          f"on {results['cpu']} CPUs")


if __name__ == "__main__":
    main()
