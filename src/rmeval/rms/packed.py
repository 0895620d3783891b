"""The batch planners of the scoring engine (no torch, cheap to import): length-sorted token-budget batches
(``plan_batches``), texts that share a prompt prefix (``shared_prefix_groups``) and packed batches that lay such a
prefix out once (``plan_shared_prefix_batches``, ``forward_cost``).

Packed batches: the texts of a batch end to end in one row, position ids restarting per text, attention per text,
only each text's last token through the score head; no padding. Shared prefixes: texts that answer the same
conversation start with the same tokens (the rendered prompt). Where consecutive texts share at least
``MIN_SHARED_PREFIX`` tokens, the prefix is computed once and each text's own tokens attend to it and causally to
themselves. Under causal attention a prefix's hidden states do not depend on what follows, so every text's score is
the one it gets alone, within float tolerance. The planners order such texts side by side (by their token ids) and
count a shared prefix once against the token budget.

The forward passes are elsewhere: ``rmeval.rms._packed_forward`` (packed rows) and ``rmeval.rms.prefix_cache``
(padded rows on a shared prefix's KV cache); ``rmeval.rms.batching`` chooses among them.
"""

from __future__ import annotations

from collections.abc import Sequence

MIN_SHARED_PREFIX = 16  # shorter common prefixes are laid out per text (not worth a segment of their own)


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    k = 0
    while k < n and a[k] == b[k]:
        k += 1
    return k


def shared_prefix_groups(seqs: Sequence[Sequence[int]], min_prefix: int = MIN_SHARED_PREFIX) -> list[tuple[int, list[int]]]:
    """Runs of consecutive texts that share a prefix: [(prefix length, member positions)], in order.

    Greedy and deterministic (the planner and the forward pass must agree): a text joins the open run when it shares
    at least ``min_prefix`` tokens with the run's first text and the run's total saving (members - 1) x prefix does not
    shrink; the prefix always leaves each member one token of its own. A run of one has prefix 0 (no sharing)."""
    groups: list[tuple[int, list[int]]] = []
    for i, s in enumerate(seqs):
        if groups:
            p, members = groups[-1]
            joined = _joined_prefix(seqs[members[0]], len(members), p, s, min_prefix)
            if joined is not None:
                groups[-1] = (joined, [*members, i])
                continue
        groups.append((0, [i]))
    return groups


def _joined_prefix(first: Sequence[int], n: int, p: int, s: Sequence[int], min_prefix: int) -> int | None:
    """The run's new prefix length if text ``s`` joins a run of ``n`` texts (first text ``first``, prefix ``p``),
    else None: it must share ``min_prefix`` tokens with the first, keep one token of its own, and not shrink the
    run's saving (n - 1) x p. The one rule both the planner and the forward pass apply."""
    if min_prefix <= 0:
        return None
    cand = min(common_prefix(first, s), len(s) - 1, len(first) - 1, p if n > 1 else len(first))
    return cand if cand >= min_prefix and n * cand >= (n - 1) * p else None


def forward_cost(seqs: Sequence[Sequence[int]], min_prefix: int = MIN_SHARED_PREFIX) -> int:
    """Tokens one packed forward pass computes for ``seqs`` in this order (shared prefixes once)."""
    return sum(len(s) for s in seqs) - sum((len(m) - 1) * p for p, m in shared_prefix_groups(seqs, min_prefix))


def plan_shared_prefix_batches(seqs: Sequence[Sequence[int]], token_budget: int, max_batch_size: int,
                               min_prefix: int = MIN_SHARED_PREFIX) -> list[list[int]]:
    """Packed batches for texts given as token ids: ordered by their ids (texts of one conversation side by side),
    closed when the batch's forward cost (shared prefixes counted once) would pass ``token_budget``."""
    order = sorted(range(len(seqs)), key=lambda i: (list(seqs[i]), i))
    batches: list[list[int]] = []
    current: list[int] = []
    cost, group_p, group_first, group_n = 0, 0, None, 0
    for i in order:
        s = seqs[i]
        cand = _joined_prefix(seqs[group_first], group_n, group_p, s, min_prefix) if current else None
        new_cost = cost + len(s) if cand is None else cost + len(s) - group_n * cand + (group_n - 1) * group_p
        if current and (len(current) + 1 > max_batch_size or new_cost > token_budget):
            batches.append(current)
            current, cost, cand, new_cost = [], 0, None, len(s)
        current.append(i)
        cost = new_cost
        if cand is not None:
            group_p, group_n = cand, group_n + 1
        else:
            group_p, group_first, group_n = 0, i, 1
    if current:
        batches.append(current)
    return batches


def plan_batches(lengths: Sequence[int], token_budget: int, max_batch_size: int, packed: bool = False) -> list[list[int]]:
    """Indices grouped into batches, longest first, so that the batch's forward tokens <= token_budget: rows x
    longest row for padded batches, the sum of the lengths for packed ones (texts laid end to end, no padding).

    Sorting by length keeps padding small; a text longer than the budget gets a batch of its own.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    width = total = 0
    for i in order:
        w = max(width, lengths[i]) if current else lengths[i]
        cost = total + lengths[i] if packed else (len(current) + 1) * w
        if current and (len(current) + 1 > max_batch_size or cost > token_budget):
            batches.append(current)
            current, w, total = [], lengths[i], 0
        current.append(i)
        width = w
        total += lengths[i]
    if current:
        batches.append(current)
    return batches
