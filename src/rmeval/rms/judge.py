"""Generative judges as RMs, over any ``rmeval.llm`` backend.

- ``PairwiseJudgeRM``: for each item, the chosen response against each rejected one (a BoN group is n−1
  comparisons, correct only if all are won). Which response is shown as A is read from the items
  (``chosen_positions``, drawn from a seeded RNG when the items were built), never drawn at inference time.
  ``both_orders: true`` also runs every comparison swapped: a comparison then counts as won only when the chosen
  response wins in both orders, and the consistency rate is reported. Tie and invalid verdicts (unparseable
  answers, requests the endpoint refused) are counted and scored as not correct; a request that failed every retry
  at the transport is no verdict: the job stops once the rest are cached, and a rerun sends only it.
- Majority voting (``samples: k`` > 1): each comparison is asked k times, sample j with seed ``seed + j`` (so the
  one-sample run is sample 0 and a larger k reuses every answer already in the generation cache); the seeds are
  written into the comparisons table. The verdict is the one with most votes among the valid ones (A, B, tie); a
  draw for the most votes (e.g. 2 A, 2 B) is a tie and is counted as a vote tie; no valid vote is invalid. With
  ``both_orders`` each order votes separately, and the orders combine as above.
- ``RatingJudgeRM``: a 1–10 rating per response (a scalar RM for the usual engine; an unparseable rating is NaN,
  counted invalid by the metrics).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections import Counter
from collections.abc import Sequence
from importlib import resources
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rmeval.config.fields import at_least, settings
from rmeval.errors import RmevalError
from rmeval.ids import stable_hash
from rmeval.llm.base import ChatBackend, ChatRequest
from rmeval.llm.cache import GenerationCache, generate_cached
from rmeval.llm.server import ServerConfig
from rmeval.rms.base import RM_FAMILIES, BaseRMConfig, Encoded, PointwiseRM

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

VERDICT = re.compile(r"\[\[\s*([ABC])\s*\]\]")
RATING = re.compile(r"\[\[\s*(10|[1-9](?:\.\d+)?)\s*\]\]")
COMPARISON_COLUMNS = ["item_id", "loser_index", "a_id", "b_id", "chosen_is_a", "order", "verdict", "chosen_won", "raw", "error"]
# with samples > 1: the votes behind each majority verdict, the seeds and raw outputs of the samples
VOTE_COLUMNS = ["n_samples", "votes_A", "votes_B", "votes_tie", "votes_invalid", "vote_tie", "sample_seeds", "sample_verdicts", "sample_raws"]


@dataclass
class PairwiseJudgeRMConfig(BaseRMConfig):
    backend: Any = None  # an OpenAIBackendConfig or HFBackendConfig node (validated separately)
    template: str = "pairwise_v1"  # a template shipped in rmeval/templates, or a file path
    both_orders: bool = False  # also run every comparison swapped; report the consistency rate
    max_tokens: int = field(default=512, metadata=at_least(1))
    temperature: float = field(default=0.0, metadata=at_least(0))  # majority voting needs sampling: set it > 0 with samples > 1
    seed: int = field(default=0, metadata=at_least(0))  # sample j of a comparison uses seed + j
    samples: int = field(default=1, metadata=at_least(1))  # majority vote over this many samples per comparison
    allow_all_invalid: bool = False  # a pipeline check (untrained model): every verdict invalid warns instead of failing
    server: ServerConfig | None = None  # start a local inference server (vllm serve, ...) around the job


@dataclass
class RatingJudgeRMConfig(BaseRMConfig):
    backend: Any = None
    template: str = "rating_v1"
    max_tokens: int = field(default=512, metadata=at_least(1))
    temperature: float = field(default=0.0, metadata=at_least(0))
    seed: int = field(default=0, metadata=at_least(0))
    cache_path: str | None = None  # a JSONL generation cache (raw outputs); the score cache works without it
    allow_all_invalid: bool = False  # a pipeline check (untrained model): every rating invalid warns instead of failing
    server: ServerConfig | None = None  # start a local inference server (vllm serve, ...) around the job


class NoValidOutputError(RmevalError):
    """Every output of a run is invalid (unparseable or failed): its metrics would be all wrong, so nothing is written."""


def require_some_valid(valid, errors, what: str, hint: str = "", allow_all_invalid: bool = False) -> None:
    """Stop (one line) when outputs were asked for and none is valid (``valid``: booleans; ``errors``: the outputs'
    backend error texts, None where the backend answered): a dead endpoint, a wrong model name or a template the
    model does not follow must never become a leaderboard row with accuracy 0. The stages call it before writing.

    ``allow_all_invalid`` (an RM's YAML, for pipeline checks on untrained models) turns "every answer unparseable"
    into a loud warning; "every request failed at the backend" stops the job regardless."""
    valid, errors = list(valid), list(errors)
    if not valid or any(valid):
        return
    failed = [e for e in errors if isinstance(e, str) and e]
    detail = f"first error: {failed[0]}" if failed else hint
    message = f"{what}: all {len(valid)} outputs are invalid, so no result is written" + (f"; {detail}" if detail else "")
    if allow_all_invalid and len(failed) < len(valid):
        log.warning("%s: all %d outputs are invalid (allow_all_invalid: true, so its results are written and every one "
                    "counts as wrong)", what, len(valid))
        return
    raise NoValidOutputError(message)


def load_template(name_or_path: str) -> str:
    """A template shipped with rmeval (``pairwise_v1``, ``rating_v1``) or a file path."""
    path = Path(name_or_path)
    if path.suffix and path.exists():
        return path.read_text(encoding="utf-8")
    return resources.files("rmeval.templates").joinpath(f"{name_or_path}.txt").read_text(encoding="utf-8")


def render_conversation(conversation: Sequence[dict]) -> str:
    return "\n\n".join(f"{t['role'].capitalize()}: {t['content']}" for t in conversation)


def parse_verdict(text: str | None) -> str:
    """'A', 'B', 'tie' or 'invalid': the last [[A]]/[[B]]/[[C]] in the output."""
    if not text:
        return "invalid"
    found = VERDICT.findall(text)
    if not found:
        return "invalid"
    return {"A": "A", "B": "B", "C": "tie"}[found[-1]]


def parse_rating(text: str | None) -> float:
    """The last [[n]] with 1 <= n <= 10; NaN when absent or out of range."""
    if not text:
        return float("nan")
    found = RATING.findall(text)
    return float(found[-1]) if found else float("nan")


def _backend(backend) -> ChatBackend:
    if isinstance(backend, ChatBackend):
        return backend
    from rmeval.instantiate import build

    return build(backend, "backend")


@RM_FAMILIES.register()
class PairwiseJudgeRM:
    """Not a PointwiseRM: its artifact is a comparisons table (docs/design.md)."""

    kind = "pairwise"

    writes_comparisons = True  # its artifact is a comparisons table, not scores per text
    Config = PairwiseJudgeRMConfig

    def __init__(self, config: PairwiseJudgeRMConfig | None = None, **given):
        c = self.config = settings(self.Config, config, given, type(self).__name__)
        if int(c.samples) < 1:
            raise ValueError(f"pairwise judge {c.name}: field 'samples': must be >= 1, got {c.samples}")
        self.name, self.backend = c.name, _backend(c.backend)
        self.template_name, self.template = c.template, load_template(c.template)
        self.both_orders, self.max_tokens, self.temperature, self.seed = bool(c.both_orders), int(c.max_tokens), float(c.temperature), int(c.seed)
        self.samples = int(c.samples)
        if self.samples > 1 and self.temperature == 0:
            log.warning("pairwise judge %s: %d samples at temperature 0: greedy samples usually agree (set temperature > 0)",
                        c.name, self.samples)

    def fingerprint(self) -> dict:
        """What changes one generation (names the generation cache); ``samples`` does not: each sample is a request
        with its own seed, so runs with different k share their answers."""
        return {"family": "pairwise_judge", **self.backend.fingerprint(), "template_sha256": stable_hash(self.template),
                "max_tokens": self.max_tokens, "temperature": self.temperature, "seed": self.seed}

    def plan(self, items: pd.DataFrame, texts: pd.DataFrame) -> tuple[list[dict], list[ChatRequest]]:
        by_id = {t.text_id: t for t in texts.itertuples(index=False)}
        rows, requests = [], []
        for item in items.itertuples(index=False):
            stored = getattr(item, "chosen_positions", None)
            positions = list(stored) if stored is not None else ["A"] * len(item.rejected_ids)
            conv = render_conversation(list(by_id[item.chosen_id].conversation))
            for k, (loser, pos) in enumerate(zip(item.rejected_ids, positions)):
                orders = [("original", pos == "A")]
                if self.both_orders:
                    orders.append(("swapped", pos != "A"))
                for order, chosen_is_a in orders:
                    a, b = (item.chosen_id, loser) if chosen_is_a else (loser, item.chosen_id)
                    rows.append({"item_id": item.item_id, "loser_index": k, "a_id": a, "b_id": b, "chosen_is_a": chosen_is_a, "order": order})
                    requests.append(self.request(f"{item.item_id}/{k}/{order}", conv, by_id[a].response, by_id[b].response))
        return rows, requests

    def request(self, key: str, conversation: str, response_a: str, response_b: str) -> ChatRequest:
        """One comparison: the rendered conversation, response A, response B."""
        prompt = self.template.format(conversation=conversation, response_a=response_a, response_b=response_b)
        return ChatRequest(key=key, messages=[{"role": "user", "content": prompt}], max_tokens=self.max_tokens,
                           temperature=self.temperature, seed=self.seed)

    def sample_seeds(self) -> list[int]:
        return [self.seed + j for j in range(self.samples)]

    def compare(self, items: pd.DataFrame, texts: pd.DataFrame, cache: GenerationCache | None = None, progress: bool = True) -> pd.DataFrame:
        import pandas as pd

        rows, requests = self.plan(items, texts)
        if self.samples == 1:
            results = generate_cached(self.backend, requests, cache, progress=progress)
            for row, res in zip(rows, results):
                self._fill(row, parse_verdict(res.text) if res.ok else "invalid", res.text, res.error)
            return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
        seeds = self.sample_seeds()
        sampled = [dataclasses.replace(r, key=f"{r.key}/s{j}", seed=s) for r in requests for j, s in enumerate(seeds)]
        results = generate_cached(self.backend, sampled, cache, progress=progress)
        for i, row in enumerate(rows):
            group = results[i * self.samples: (i + 1) * self.samples]
            verdicts = [parse_verdict(r.text) if r.ok else "invalid" for r in group]
            verdict, vote_tie = majority_verdict(verdicts)
            errors = [r.error for r in group if r.error]
            self._fill(row, verdict, group[0].text, errors[0] if len(errors) == len(group) else None)
            row.update(n_samples=self.samples, **{f"votes_{v}": verdicts.count(v) for v in ("A", "B", "tie", "invalid")},
                       vote_tie=vote_tie, sample_seeds=seeds, sample_verdicts=verdicts, sample_raws=[r.text for r in group])
        return pd.DataFrame(rows, columns=COMPARISON_COLUMNS + VOTE_COLUMNS)

    @staticmethod
    def _fill(row: dict, verdict: str, raw: str | None, error: str | None) -> None:
        row.update(verdict=verdict, raw=raw, error=error,
                   chosen_won=(verdict == "A" and row["chosen_is_a"]) or (verdict == "B" and not row["chosen_is_a"]))


def majority_verdict(verdicts: Sequence[str]) -> tuple[str, bool]:
    """(verdict, vote_tie) of sample verdicts: the valid verdict (A, B, tie) with most votes; a draw for most votes
    is ``tie`` with ``vote_tie`` true; no valid vote is ``invalid``."""
    counts = Counter(v for v in verdicts if v != "invalid")
    if not counts:
        return "invalid", False
    top = max(counts.values())
    leaders = sorted(v for v, n in counts.items() if n == top)
    if len(leaders) > 1:
        return "tie", True
    return leaders[0], False


@RM_FAMILIES.register()
class RatingJudgeRM(PointwiseRM):
    """A 1–10 rating per (conversation, response), parsed strictly; NaN when the output has no valid rating."""

    Config = RatingJudgeRMConfig

    def __init__(self, config: RatingJudgeRMConfig | None = None, **given):
        c = self.config = settings(self.Config, config, given, type(self).__name__)
        self.name, self.backend = c.name, _backend(c.backend)
        self.template_name, self.template = c.template, load_template(c.template)
        self.max_tokens, self.temperature, self.seed = int(c.max_tokens), float(c.temperature), int(c.seed)
        self.token_budget, self.max_batch_size = 1 << 30, 256
        self.cache = GenerationCache(c.cache_path) if c.cache_path else None
        self.raw: dict[str, str | None] = {}

    def fingerprint(self) -> dict:
        return {"family": "rating_judge", **self.backend.fingerprint(), "template_sha256": stable_hash(self.template),
                "max_tokens": self.max_tokens, "temperature": self.temperature, "seed": self.seed}

    def encode(self, text_id: str, conversation: Sequence[dict], response: str) -> Encoded:
        prompt = self.template.format(conversation=render_conversation(conversation), response=response)
        return Encoded(payload=(text_id, prompt), n_tokens=0)

    def score_batch(self, batch: Sequence[Encoded]) -> np.ndarray:
        requests = [ChatRequest(key=e.payload[0], messages=[{"role": "user", "content": e.payload[1]}],
                                max_tokens=self.max_tokens, temperature=self.temperature, seed=self.seed) for e in batch]
        results = generate_cached(self.backend, requests, self.cache, progress=False)
        for r in results:
            self.raw[r.key] = r.text
        return np.array([parse_rating(r.text) if r.ok else np.nan for r in results], dtype=np.float64)
