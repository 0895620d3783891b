"""Policy sampling: n seeded samples per prompt from a policy (any rmeval.llm backend), resumable.

The generation cache is append-only and keyed by (backend, request incl. seed), and a sample's seed is a function
of (policy seed, prompt_id, sample index): a rerun after a kill regenerates nothing already written, and a sample
never depends on what else was in the run.
"""

from __future__ import annotations

import pandas as pd

from rmeval.ids import stable_hash, text_id
from rmeval.llm.base import ChatBackend, ChatRequest
from rmeval.llm.cache import GenerationCache, generate_cached

RESPONSE_COLUMNS = ["prompt_id", "policy", "sample_idx", "seed", "response", "finish_reason", "prompt_tokens",
                    "completion_tokens", "error"]


def sample_seed(policy_seed: int, prompt_id: str, sample_idx: int) -> int:
    return int(stable_hash(["sample", policy_seed, prompt_id, sample_idx], length=8), 16)


def sample_policy(prompts: pd.DataFrame, backend: ChatBackend, policy: str, n_samples: int, temperature: float,
                  top_p: float, max_new_tokens: int, seed: int, system_prompt: str | None = None,
                  cache: GenerationCache | None = None, progress: bool = True) -> pd.DataFrame:
    requests, meta = [], []
    for row in prompts.itertuples(index=False):
        messages = [{"role": t["role"], "content": t["content"]} for t in row.conversation]
        if system_prompt:
            messages = [{"role": "system", "content": system_prompt}] + [m for m in messages if m["role"] != "system"]
        for k in range(n_samples):
            s = sample_seed(seed, row.prompt_id, k)
            requests.append(ChatRequest(key=f"{row.prompt_id}/{policy}/{k}", messages=messages, max_tokens=max_new_tokens,
                                        temperature=temperature, top_p=top_p, seed=s))
            meta.append((row.prompt_id, k, s))
    results = generate_cached(backend, requests, cache, progress=progress)
    rows = [
        {"prompt_id": pid, "policy": policy, "sample_idx": k, "seed": s, "response": r.text, "finish_reason": r.finish_reason,
         "prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens, "error": r.error}
        for (pid, k, s), r in zip(meta, results)
    ]
    return pd.DataFrame(rows, columns=RESPONSE_COLUMNS)


def response_texts(prompts: pd.DataFrame, responses: pd.DataFrame) -> pd.DataFrame:
    """Unique (conversation, response) texts of the successful samples, with their prompt's goal and labels."""
    merged = responses.dropna(subset=["response"]).merge(prompts, on="prompt_id", how="inner")
    merged["text_id"] = [text_id(list(c), r) for c, r in zip(merged["conversation"], merged["response"])]
    return merged.drop_duplicates("text_id").reset_index(drop=True)
