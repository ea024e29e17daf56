"""``qunyun moderation``: batch moderation of JSONL files (scan, train, eval).

No Django is imported here: the commands run on files with the pure detectors.

* ``scan`` — one output line per input line: ``{"id", "verdict", "categories", "score",
  "evidence"}``; a malformed input line is reported on stderr with its line number and gets
  an output line with ``"verdict": "error"``; the other lines are still processed, and the
  exit code is 1 when any line was malformed.
* ``train`` — ``{"text", "label"}`` lines (``ok`` or a category id) → a versioned model file.
* ``eval`` — precision, recall, F1 and false-positive rate against labelled lines.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from .errors import UserError

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``moderation`` and its subcommands."""
    p = subparsers.add_parser("moderation", help="moderate messages in batch (scan, train, eval)")
    sub = p.add_subparsers(dest="moderation_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    scan = sub.add_parser("scan", help="judge every message of a JSONL file")
    scan.add_argument("--input", required=True, help='JSONL, one {"id", "text", optional "member", "group", "at"} per line')
    scan.add_argument("--output", required=True, help="JSONL written with one verdict per input line")
    _common(scan)
    scan.add_argument(
        "--community",
        metavar="SLUG",
        help="use this community's stored policy, lexicons, link lists and model",
    )
    scan.set_defaults(func=cmd_scan)

    train = sub.add_parser("train", help="train a model from labelled messages")
    train.add_argument("--input", required=True, help='JSONL, one {"text", "label"} per line; label "ok" or a category id')
    train.add_argument("--out", required=True, help="model file to write")
    train.add_argument(
        "--scope",
        choices=["community", "general"],
        default="community",
        help="community: the examples are this community's own history, the model may flag on its own "
        "(default); general: examples from elsewhere, the model only corroborates the rules",
    )
    train.set_defaults(func=cmd_train)

    ev = sub.add_parser("eval", help="measure precision, recall, F1 and false positives on labelled messages")
    ev.add_argument("--input", required=True, help='JSONL, one {"text", "label"} per line')
    _common(ev)
    ev.add_argument(
        "--flag-on",
        choices=["review", "block"],
        default="review",
        help="which verdicts count as flagging a message (default: review or block)",
    )
    ev.set_defaults(func=cmd_eval)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="model file from `qunyun moderation train` (optional signal)")
    p.add_argument("--lexicon", action="append", default=[], help="extra lexicon file or directory (repeatable)")
    p.add_argument("--policy", help="policy JSON file (default: the built-in default policy)")


def _read_jsonl(path: str) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """``(line number, object or None, error or None)`` for each non-blank line."""
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}", exit_code=2) from None
    with fh:
        for n, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield n, None, f"not valid UTF-8 (byte {exc.start})"
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, None, f"not valid JSON ({exc.msg}, column {exc.colno})"
                continue
            if not isinstance(obj, dict):
                yield n, None, "not a JSON object"
                continue
            yield n, obj, None


def _context(args: argparse.Namespace, *, with_window: bool):
    from qunyun.moderation.detection.behaviour import Window
    from qunyun.moderation.detection.classifier import Model, ModelError
    from qunyun.moderation.detection.lexicon import Lexicon, LexiconError, STARTER_DIR
    from qunyun.moderation.detection.verdict import Context
    from qunyun.moderation.policy import Policy, default_policy

    if getattr(args, "community", None):
        # The community's stored policy, lexicons, link lists and trained model, as live uses them.
        from .bootstrap import django_ready
        from .communities import get_community

        django_ready()
        from qunyun.moderation.live import batch_context

        ctx = batch_context(get_community(args.community), with_window=with_window)
        if args.model:
            try:
                ctx.model = Model.load(args.model)
            except ModelError as exc:
                raise UserError(str(exc), exit_code=2) from None
        return ctx
    try:
        lexicon = Lexicon.load([STARTER_DIR, *args.lexicon]) if args.lexicon else None
    except LexiconError as exc:
        raise UserError(str(exc), exit_code=2) from None
    model = None
    if args.model:
        try:
            model = Model.load(args.model)
        except ModelError as exc:
            raise UserError(str(exc), exit_code=2) from None
    policy = default_policy()
    if args.policy:
        try:
            policy = Policy.from_dict(json.loads(Path(args.policy).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot use policy {args.policy}: {exc}", exit_code=2) from None
    return Context(policy=policy, lexicon=lexicon, model=model, window=Window() if with_window else None)


def _parse_at(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def cmd_scan(args: argparse.Namespace) -> int:
    """Judge each input line; write one output line per input line."""
    from qunyun.moderation.detection.verdict import Message, moderate

    ctx = _context(args, with_window=True)
    counts: dict[str, int] = {}
    bad = 0
    try:
        out = open(args.output, "w", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {args.output}: {exc.strerror or exc}", exit_code=2) from None
    with out:
        for n, obj, error in _read_jsonl(args.input):
            msg_id = obj.get("id") if obj else None
            if error is None:
                text = obj.get("text")
                if not isinstance(text, str):
                    error = 'field "text" is missing or not a string'
                else:
                    try:
                        at = _parse_at(obj.get("at"))
                    except (ValueError, TypeError, OverflowError, OSError):
                        error = f'field "at" is not an ISO date-time: {str(obj.get("at"))[:40]!r}'
            if error is not None:
                bad += 1
                print(f"qunyun: {args.input}:{n}: {error}", file=sys.stderr)
                row: dict[str, Any] = {"id": msg_id, "line": n, "verdict": "error", "error": error}
            else:
                member = obj.get("member")
                group = obj.get("group")
                verdict = moderate(
                    Message(
                        text=text,
                        member=None if member is None else str(member),
                        group=None if group is None else str(group),
                        at=at,
                    ),
                    ctx,
                )
                row = {
                    "id": msg_id,
                    "verdict": verdict.verdict,
                    "categories": list(verdict.categories),
                    "score": round(verdict.score, 4),
                    "evidence": [e.to_dict() for e in verdict.evidence],
                }
                counts[verdict.verdict] = counts.get(verdict.verdict, 0) + 1
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(f"scanned {sum(counts.values())} messages: {summary or 'none'}; {bad} malformed line(s)", file=sys.stderr)
    return 1 if bad else 0


def _labelled(path: str) -> tuple[list[str], list[str], int]:
    from qunyun.moderation import taxonomy

    texts, labels, bad = [], [], 0
    for n, obj, error in _read_jsonl(path):
        if error is None:
            text, label = obj.get("text"), obj.get("label")
            if not isinstance(text, str):
                error = 'field "text" is missing or not a string'
            elif not isinstance(label, str) or not taxonomy.is_known(label):
                error = f'label {label!r} is neither "ok" nor a category id'
        if error is not None:
            bad += 1
            print(f"qunyun: {path}:{n}: {error} (line skipped)", file=sys.stderr)
            continue
        texts.append(text)
        labels.append(label)
    return texts, labels, bad


def cmd_train(args: argparse.Namespace) -> int:
    """Train and save a model."""
    from qunyun.moderation.detection.classifier import train

    texts, labels, bad = _labelled(args.input)
    if len(set(labels)) < 2:
        raise UserError(f"{args.input}: need examples of at least two labels (e.g. ok and spam), found {sorted(set(labels))}")
    model = train(texts, labels, scope=args.scope)
    try:
        model.save(args.out)
    except OSError as exc:
        raise UserError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    per = {lab: labels.count(lab) for lab in sorted(set(labels))}
    print(f"trained a {args.scope} model on {len(texts)} messages {per}; {bad} line(s) skipped; model written to {args.out}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Print precision, recall, F1 and false-positive rate of the verdicts against labels."""
    from qunyun.moderation.detection.verdict import BLOCK, REVIEW, moderate

    ctx = _context(args, with_window=False)
    texts, labels, bad = _labelled(args.input)
    if not texts:
        raise UserError(f"{args.input}: no usable labelled lines")
    flag = {REVIEW, BLOCK} if args.flag_on == "review" else {BLOCK}
    tp = fp = fn = tn = 0
    for text, label in zip(texts, labels):
        hit = moderate(text, ctx).verdict in flag
        positive = label != "ok"
        tp += hit and positive
        fp += hit and not positive
        fn += (not hit) and positive
        tn += (not hit) and not positive
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    fpr = fp / (fp + tn) if fp + tn else 0.0
    print(f"messages        {len(texts)} ({tp + fn} positive, {fp + tn} ok; {bad} line(s) skipped)")
    print(f"precision       {precision:.4f}")
    print(f"recall          {recall:.4f}")
    print(f"f1              {f1:.4f}")
    print(f"false-positive  {fpr:.4f}")
    return 0
