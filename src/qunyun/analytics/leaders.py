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


def reply_graph(rows: list[tuple], start: date, end: date, *, excluded: set[int] = frozenset(),
                allowed: set[int] | None = None) -> tuple[dict, dict, dict, Counter]:
    """Edges of the range: ``weights[(a, b)]``, replies and mentions received, and messages per author.

    A reply to B is one edge A→B; each other member mentioned is one more; a mention of the member
    replied to is not counted twice; self-edges, bots (``excluded``) and members outside ``allowed``
    are left out.
    """
    weights: dict[tuple[int, int], int] = defaultdict(int)
    replies_in: Counter = Counter()
    mentions_in: Counter = Counter()
    messages: Counter = Counter()
    for row in rows:
        if not start <= row[DAY] <= end:
            continue
        author = row[MEMBER]
        messages[author] += 1
        target = row[REPLY_MEMBER]
        if target is not None and target != author and target not in excluded and (allowed is None or target in allowed):
            weights[(author, target)] += 1
            replies_in[target] += 1
        for mentioned in set(row[MENTIONS]):
            if mentioned in (author, target) or mentioned in excluded or (allowed is not None and mentioned not in allowed):
                continue
            weights[(author, mentioned)] += 1
            mentions_in[mentioned] += 1
    return weights, replies_in, mentions_in, messages


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


def leaders_compute(rows: list[tuple], start: date, end: date, *, limit: int = 20, excluded: set[int] = frozenset(),
                    allowed: set[int] | None = None) -> list[dict]:
    """Top members by PageRank with their evidence (ids; names are added by :func:`leaders_get`)."""
    weights, replies_in, mentions_in, messages = reply_graph(rows, start, end, excluded=excluded, allowed=allowed)
    ranks = pagerank(weights)
    incoming: dict[int, Counter] = defaultdict(Counter)
    outgoing: dict[int, Counter] = defaultdict(Counter)
    for (a, b), n in weights.items():
        incoming[b][a] += n
        outgoing[a][b] += n
    candidates = [m for m in ranks if incoming.get(m)]
    candidates.sort(key=lambda m: (-ranks[m], -sum(incoming[m].values()), m))
    out = []
    for rank_no, member in enumerate(candidates[:limit], start=1):
        out.append({
            "rank": rank_no, "member_id": member, "score": round(ranks[member], 6),
            "messages": messages.get(member, 0),
            "replies_received": replies_in.get(member, 0), "mentions_received": mentions_in.get(member, 0),
            "answered_by_members": len(incoming[member]),
            "answered_by": incoming[member].most_common(3),
            "answers": outgoing[member].most_common(3),
        })
    return out


def leaders_get(scope: Scope, *, rows: list[tuple] | None = None, limit: int = 20) -> list[dict]:
    """Opinion leaders of the scope with names on the evidence."""
    if rows is None:
        rows = sources.message_rows(scope, scope.start, scope.end)
    allowed = sources.channel_members(scope) if scope.channel_id is not None else None
    leaders = leaders_compute(rows, scope.start, scope.end, limit=limit, excluded=sources.bot_ids(scope),
                              allowed=allowed)
    ids = {x["member_id"] for x in leaders}
    for x in leaders:
        ids.update(m for m, _n in x["answered_by"])
        ids.update(m for m, _n in x["answers"])
    names = sources.names(ids)
    for x in leaders:
        x["member"] = names.get(x["member_id"], f"#{x['member_id']}")
        x["answered_by"] = [{"member_id": m, "member": names.get(m, f"#{m}"), "count": n} for m, n in x["answered_by"]]
        x["answers"] = [{"member_id": m, "member": names.get(m, f"#{m}"), "count": n} for m, n in x["answers"]]
    return leaders

