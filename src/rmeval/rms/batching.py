"""How a decoder classifier's batches are laid out and what they cost: the one place the scoring paths are chosen.

Four paths, all through transformers' own model classes:
- ``padded``: right-padded rows of length-sorted texts (``rmeval.scoring.plan_batches``), every model;
- ``padded + shared prefixes``: whole groups of texts that share a prompt prefix, the prefix computed once through
  the KV cache (``rmeval.rms.prefix_cache``);
- ``packed``: texts end to end in one row, no padding (``rmeval.rms._packed_forward``);
- ``packed + shared prefixes``: the same with each shared prefix laid out once.

``choose`` picks one for a loaded model from ``batching`` and ``share_prefixes`` (the classifier YAML's settings)
and says why; the planner and cost functions below need no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rmeval.rms.packed import (MIN_SHARED_PREFIX, forward_cost, plan_batches, plan_shared_prefix_batches,
                               shared_prefix_groups)


@dataclass(frozen=True)
class Path:
    packed: bool = False
    min_prefix: int = 0  # shortest prompt prefix computed once (0: none shared)
    # padded rows without an attention mask (a causal decoder of a tested type: real tokens never see the padding
    # after them), so SDPA runs its causal kernel instead of the masked path
    unmasked: bool = False

    @property
    def name(self) -> str:
        return ("packed" if self.packed else "padded") + (" + shared prefixes" if self.min_prefix else "")

    def plan(self, seqs: Sequence[Sequence[int]], token_budget: int, max_batch_size: int) -> list[list[int]]:
        from rmeval.rms import prefix_cache

        if self.packed and self.min_prefix:
            return plan_shared_prefix_batches(seqs, token_budget, max_batch_size, self.min_prefix)
        if self.min_prefix:
            return prefix_cache.plan(seqs, token_budget, max_batch_size, self.min_prefix)
        return plan_batches([max(len(s), 1) for s in seqs], token_budget, max_batch_size, self.packed)

    def forward_tokens(self, seqs: Sequence[Sequence[int]]) -> int:
        """Tokens the forward passes of one batch process (padding included, shared prefixes once)."""
        from rmeval.rms import prefix_cache

        if self.packed:
            return forward_cost(seqs, self.min_prefix) if self.min_prefix else sum(map(len, seqs))
        if self.min_prefix:
            return prefix_cache.batch_cost(seqs, shared_prefix_groups(seqs, self.min_prefix))
        return len(seqs) * max(map(len, seqs))

    def shared_tokens(self, seqs: Sequence[Sequence[int]]) -> int:
        """Tokens of prompt prefixes that several texts of the batch share, computed once instead of per text."""
        if not self.min_prefix:
            return 0
        return sum((len(members) - 1) * p for p, members in shared_prefix_groups(seqs, self.min_prefix))


def choose(model, mode: str, share_prefixes: bool, attn_implementation: str | None, on_gpu: bool
           ) -> tuple[list[Path], str]:
    """(candidate paths, why) for a loaded classifier; the engine plans each candidate and keeps the one whose
    batches process the fewest forward tokens (``cheapest``).

    ``auto``: padded rows, and on the CPU also padded rows with shared prompt prefixes computed once where the model
    allows it (which wins depends on the data: long shared prompts favour sharing; grouping texts by prompt costs
    padding). Packed rows are never chosen automatically: their SDPA mask is dense (T x T per batch), so their
    attention cost grows with the batch, which the token count does not show. On a GPU, ``auto`` keeps plain padded
    rows, the path measured there, until another is measured faster (``benchmarks/gpu_check.py``).
    ``packed`` / ``padded``: that layout, with shared prefixes when ``share_prefixes`` is on. Plain padded rows of a
    model that could pack run without an attention mask (``Path.unmasked``)."""
    from rmeval.rms._packed_forward import MASKABLE, packing_unsupported

    reason = packing_unsupported(model, attn_implementation)
    share = MIN_SHARED_PREFIX if share_prefixes else 0
    plain = Path(unmasked=reason is None)
    if mode == "auto":
        if on_gpu:
            return [plain], "batching: auto on a GPU uses plain padded batches, the path measured there"
        if reason is not None or not share:
            return [plain], f"batching: auto; no shared prefixes ({reason or 'share_prefixes: false'})"
        return [plain, Path(False, share)], "batching: auto, the plan with fewer forward tokens"
    if mode == "packed":
        if reason is not None:
            return [Path()], f"padded: the model cannot pack ({reason})"
        if share and attn_implementation not in MASKABLE:
            return [Path(packed=True)], f"batching: packed; no shared prefixes with {attn_implementation} (no 4-D mask)"
        return [Path(True, share)], f"batching: packed{', shared prefixes computed once' if share else ''}"
    if share and reason is not None:  # the KV-cache prefix path is tested on the same model types
        return [Path()], f"batching: {mode}; no shared prefixes: {reason}"
    if not share:
        return [plain], f"batching: {mode}"
    return [Path(False, share)], f"batching: {mode}{', shared prefixes computed once through the KV cache' if share else ''}"


def cheapest(paths: Sequence[Path], seqs: Sequence[Sequence[int]], token_budget: int, max_batch_size: int
             ) -> tuple[Path, list[list[int]], dict[str, int]]:
    """(path, its batches, forward tokens of every candidate) of the candidate whose plan processes the fewest
    forward tokens (ties: the first)."""
    best, costs = None, {}
    for path in paths:
        batches = path.plan(seqs, token_budget, max_batch_size)
        costs[path.name] = sum(path.forward_tokens([seqs[i] for i in b]) for b in batches)
        if best is None or costs[path.name] < costs[best[0].name]:
            best = (path, batches)
    return best[0], best[1], costs
