"""Padded batches that compute a shared prompt prefix once, through transformers' own KV cache (public arguments only).

Texts that answer the same conversation start with the same tokens (the rendered prompt). A batch here holds whole
groups of such texts (``rmeval.rms.packed.shared_prefix_groups``: at least ``min_prefix`` shared tokens, each member
keeping one token of its own):

1. the groups' prefixes run once, as a right-padded batch with ``use_cache=True``;
2. the cache rows are repeated for the group's members (``Cache.batch_select_indices``);
3. the members' own tokens run as a right-padded batch on top of that cache: the 2-D attention mask covers the
   prefix slots (a text without a shared prefix sees none of them) and its own tokens, and the position ids
   continue after its prefix;
4. the score head reads each text's last hidden state.

Under causal attention a prefix's hidden states do not depend on what follows, so each score is the one the text
gets alone (tested to 1e-5 in float32). Attention stays per row (SDPA's and flash-attention's ordinary padded
kernels), so nothing grows with the batch as a packed row's dense mask does. The planner here needs no torch.
"""

from __future__ import annotations

from collections.abc import Sequence

from rmeval.rms.packed import shared_prefix_groups


def units(seqs: Sequence[Sequence[int]], min_prefix: int) -> list[tuple[int, list[int]]]:
    """(prefix length, member positions) of texts ordered by their token ids (one conversation side by side)."""
    order = sorted(range(len(seqs)), key=lambda i: (list(seqs[i]), i))
    return [(p, [order[m] for m in members]) for p, members in shared_prefix_groups([seqs[i] for i in order], min_prefix)]


def batch_cost(seqs: Sequence[Sequence[int]], groups: Sequence[tuple[int, list[int]]]) -> int:
    """Forward tokens of one batch: prefixes (rows x longest prefix) plus suffixes (rows x longest suffix)."""
    prefixes = [p for p, _ in groups if p]
    suffix = max(len(seqs[m]) - p for p, members in groups for m in members)
    rows = sum(len(members) for _, members in groups)
    return len(prefixes) * max(prefixes, default=0) + rows * suffix


def plan(seqs: Sequence[Sequence[int]], token_budget: int, max_batch_size: int, min_prefix: int) -> list[list[int]]:
    """Batches of whole prefix groups, longest suffix first, each within ``token_budget`` forward tokens
    (``batch_cost``) and ``max_batch_size`` rows; a group over the budget on its own is split into runs of members."""
    pieces: list[tuple[int, list[int]]] = []
    for p, members in units(seqs, min_prefix):
        run: list[int] = []
        for m in sorted(members, key=lambda m: -len(seqs[m])):
            if run and (len(run) + 1 > max_batch_size or batch_cost(seqs, [(p, run + [m])]) > token_budget):
                pieces.append((p, run))
                run = []
            run.append(m)
        pieces.append((p, run))
    pieces.sort(key=lambda g: (-max(len(seqs[m]) - g[0] for m in g[1]), g[1][0]))
    batches: list[list[tuple[int, list[int]]]] = []
    for piece in pieces:
        current = batches[-1] if batches else None
        if current is not None and sum(len(m) for _, m in current) + len(piece[1]) <= max_batch_size \
                and batch_cost(seqs, [*current, piece]) <= token_budget:
            current.append(piece)
        else:
            batches.append([piece])
    return [[m for _, members in batch for m in members] for batch in batches]


def right_padded_logits(model, seqs: Sequence[Sequence[int]], device, pad_id: int):
    """Score-head outputs (n, num_labels) at each text's last token, from right-padded rows with no attention mask.

    Under causal attention a real token never sees the padding after it, so its hidden state is the one it gets
    alone; the score head reads each row's last real position. Without a mask, SDPA runs its causal kernel (flash
    where the device has one) instead of the masked path a padding mask forces."""
    import torch

    lengths = torch.tensor([len(s) for s in seqs])
    ids = torch.full((len(seqs), int(lengths.max())), pad_id, dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, : len(s)] = torch.tensor(s)
    with torch.inference_mode():
        hidden = model.base_model(input_ids=ids.to(device), use_cache=False).last_hidden_state
        rows = torch.arange(len(seqs), device=hidden.device)
        return model.score(hidden[rows, (lengths - 1).to(hidden.device)])


def prefix_cached_logits(model, seqs: Sequence[Sequence[int]], device, pad_id: int, min_prefix: int):
    """Score-head outputs (n, num_labels) at each text's last token (see the module docstring)."""
    import torch

    groups = shared_prefix_groups(seqs, min_prefix)
    prefixed = [(p, members) for p, members in groups if p]
    width = max(p for p, _ in prefixed)
    rows = [seqs[members[0]][:p] for p, members in prefixed]
    row_of = {members[0]: r for r, (_, members) in enumerate(prefixed)}
    prefix_row, own = [], []  # per text: the cache row it continues (any row, all masked, for a text without one)
    for p, members in groups:
        for m in members:
            prefix_row.append(row_of[members[0]] if p else 0)
            own.append((m, p, seqs[m][p:]))
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, prefix in enumerate(rows):
        ids[r, : len(prefix)] = torch.tensor(prefix)
        mask[r, : len(prefix)] = 1
    s_width = max(len(s) for _, _, s in own)
    s_ids = torch.full((len(own), s_width), pad_id, dtype=torch.long)
    s_mask = torch.zeros((len(own), width + s_width), dtype=torch.long)
    positions = torch.zeros((len(own), s_width), dtype=torch.long)
    for r, (_, p, suffix) in enumerate(own):
        s_ids[r, : len(suffix)] = torch.tensor(suffix)
        s_mask[r, :p] = 1
        s_mask[r, width: width + len(suffix)] = 1
        positions[r] = torch.arange(p, p + s_width)
    import inspect

    # transformers 5.2x renamed the cache argument and output field ``past_key_values`` to ``cache``
    key = "cache" if "cache" in inspect.signature(model.base_model.forward).parameters else "past_key_values"
    with torch.inference_mode():
        out = model.base_model(input_ids=ids.to(device), attention_mask=mask.to(device), use_cache=True)
        cache = getattr(out, key)
        cache.batch_select_indices(torch.tensor(prefix_row, device=device))
        hidden = model.base_model(input_ids=s_ids.to(device), attention_mask=s_mask.to(device),
                                  position_ids=positions.to(device), use_cache=True, **{key: cache}).last_hidden_state
        last = torch.tensor([len(s) - 1 for _, _, s in own], device=hidden.device)
        logits = model.score(hidden[torch.arange(len(own), device=hidden.device), last])
    order = torch.tensor([m for m, _, _ in own]).argsort().to(logits.device)
    return logits[order]
