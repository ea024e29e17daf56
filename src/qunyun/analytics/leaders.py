"""Opinion leaders (意见领袖): PageRank in the reply and mention graph (docs/metrics.md).

Message count alone says who talks; centrality says who is answered — and answered by people
who are themselves answered. Each leader comes with the evidence.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

import numpy as np

from . import sources
from .scope import Scope
from .talk import DAY, MEMBER, MENTIONS, REPLY_MEMBER

DAMPING = 0.85


def pagerank(weights: dict[tuple[int, int], int], *, damping: float = DAMPING, tol: float = 1e-10,
             max_iter: int = 200) -> dict[int, float]:
    """PageRank of a weighted directed graph; members without outgoing edges spread evenly."""
    if not weights:
        return {}
    nodes = sorted({n for edge in weights for n in edge})
    index = {n: i for i, n in enumerate(nodes)}
    count = len(nodes)
    src = np.fromiter((index[a] for a, _b in weights), dtype=np.int64, count=len(weights))
    dst = np.fromiter((index[b] for _a, b in weights), dtype=np.int64, count=len(weights))
    w = np.fromiter(weights.values(), dtype=np.float64, count=len(weights))
    out_weight = np.bincount(src, weights=w, minlength=count)
    share = w / out_weight[src]
    dangling = out_weight == 0
    rank = np.full(count, 1.0 / count)
    for _ in range(max_iter):
        spread = np.bincount(dst, weights=rank[src] * share, minlength=count)
        new = (1 - damping) / count + damping * (spread + rank[dangling].sum() / count)
        if np.abs(new - rank).sum() < tol:
            rank = new
            break
        rank = new
    return {node: float(rank[i]) for node, i in index.items()}


def leaders_from_edges(edges: list[tuple[int, int, int, int]], *, limit: int = 20) -> list[dict]:
    """Top members by PageRank over ``(source, target, replies, mentions)`` edges, with their evidence."""
    weights: dict[tuple[int, int], int] = {}
    replies_in: Counter = Counter()
    mentions_in: Counter = Counter()
    incoming: dict[int, Counter] = defaultdict(Counter)
    outgoing: dict[int, Counter] = defaultdict(Counter)
    for a, b, replies, mentions in edges:
        n = replies + mentions
        if not n:
            continue
        weights[(a, b)] = n
        replies_in[b] += replies
        mentions_in[b] += mentions
        incoming[b][a] += n
        outgoing[a][b] += n
    ranks = pagerank(weights)
    candidates = [m for m in ranks if incoming.get(m)]
    candidates.sort(key=lambda m: (-ranks[m], -sum(incoming[m].values()), m))
    return [
        {"rank": rank_no, "member_id": member, "score": round(ranks[member], 6),
         "replies_received": replies_in.get(member, 0), "mentions_received": mentions_in.get(member, 0),
         "answered_by_members": len(incoming[member]),
         "answered_by": _top(incoming[member]), "answers": _top(outgoing[member])}
        for rank_no, member in enumerate(candidates[:limit], start=1)
    ]


def _top(counter: Counter, n: int = 3) -> list[tuple[int, int]]:
    """The ``n`` biggest, ties by member id (so the evidence does not depend on insertion order)."""
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def edges_from_rows(rows: list[tuple], start: date, end: date, *, excluded: set[int] = frozenset()) -> list[tuple]:
    """``(source, target, replies, mentions)`` from message rows: the rule the reply-edge rollup follows.

    A reply to B is one edge A→B; each other member mentioned is one more; a mention of the member
    replied to is not counted twice; self-edges and members in ``excluded`` (bots) are left out.
    """
    replies: Counter = Counter()
    mentions: Counter = Counter()
    for row in rows:
        if not start <= row[DAY] <= end:
            continue
        author, target = row[MEMBER], row[REPLY_MEMBER]
        if target is not None and target != author and target not in excluded:
            replies[(author, target)] += 1
        for mentioned in set(row[MENTIONS]):
            if mentioned not in (author, target) and mentioned not in excluded:
                mentions[(author, mentioned)] += 1
    return sorted((a, b, replies[(a, b)], mentions[(a, b)]) for (a, b) in replies.keys() | mentions.keys())


def leaders_get(scope: Scope, *, limit: int = 20) -> list[dict]:
    """Opinion leaders of the scope (from the reply-edge rollup) with names and messages on the evidence."""
    leaders = leaders_from_edges(sources.reply_edges(scope, scope.start, scope.end), limit=limit)
    ids = {x["member_id"] for x in leaders}
    for x in leaders:
        ids.update(m for m, _n in x["answered_by"])
        ids.update(m for m, _n in x["answers"])
    names = sources.names(ids)
    messages = sources.messages_of(scope, [x["member_id"] for x in leaders], scope.start, scope.end)
    for x in leaders:
        x["member"] = names.get(x["member_id"], f"#{x['member_id']}")
        x["messages"] = messages.get(x["member_id"], 0)
        x["answered_by"] = [{"member_id": m, "member": names.get(m, f"#{m}"), "count": n} for m, n in x["answered_by"]]
        x["answers"] = [{"member_id": m, "member": names.get(m, f"#{m}"), "count": n} for m, n in x["answers"]]
    return leaders
