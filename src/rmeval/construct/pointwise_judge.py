"""RMB's point-wise judge for benchmark construction: each sampled response gets a 1–5 score in 0.5 steps.

The prompt (``conf/templates/pointwise_judge_v1.txt``) asks the judge to list the key features a good answer to the
query must have (for harmlessness: what a safe answer must do), then to score the response against them, and to
answer with one JSON object ``{"key_features": [...], "score": <number>}``.

Two modes:

- ``generate`` (any ``rmeval.llm`` backend): the answer is parsed strictly (``parse_judgment``). An unparseable or
  out-of-range answer, or a request the backend refused (e.g. HTTP 400), is asked again with seed ``seed + attempt``
  (so the generation cache does not hand back the same bad answer), up to ``max_attempts``; all first attempts run
  as one batch, then all second attempts, and so on. A judgment that never parses is kept, marked invalid, with its
  raw text and the reason: nothing is dropped. Requests that failed every retry at the transport (timeouts, 5xx,
  resets) stop the job instead (``RequestsFailedError``): a rerun sends only them.
- ``expected_value`` (``HFLocalBackend`` only; for small local models that rarely write valid JSON): the same
  prompt plus a forced answer prefix that stops where the score goes (``{"key_features": [], "score": ``); one
  forward pass gives the next-token probabilities of the digits "1".."5", renormalised over those five.
  ``expected_score`` is their expectation, ``score`` that value rounded to the nearest 0.5. Limitation: the model
  is never asked for a half step (a digit is one token; "4.5" would need a second step), so half steps only come
  from the expectation; the digits must be single tokens after the prefix (checked, one-line error otherwise), and
  no key features are written (``key_features`` is null). Deterministic and batched with left padding (position
  ids follow the attention mask, so a text's probabilities do not depend on its batch).

Output (``judge``): one row per input row, columns ``JUDGMENT_COLUMNS`` (plus ``expected_score`` in
``expected_value`` mode). Token counts and cost are summed over all attempts; a result reused from the cache
carries the tokens it cost when it was generated.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from rmeval.config import find_conf_dir
from rmeval.config.fields import settings
from rmeval.config.schemas import JudgeConfig
from rmeval.data.rmb import GOALS
from rmeval.ids import stable_hash
from rmeval.llm.base import ChatRequest, ChatResult
from rmeval.llm.cache import GenerationCache, generate_cached
from rmeval.progress import progress_bar
from rmeval.rms.judge import _backend, render_conversation

log = logging.getLogger(__name__)

DEFAULT_TEMPLATE = "pointwise_judge_v1"
JUDGED_GOALS = tuple(goal.lower() for goal in GOALS)  # the goal a template names, lower case
MODES = ("generate", "expected_value")
JUDGMENT_COLUMNS = ["text_id", "judge", "score", "key_features", "raw", "valid", "attempts", "error",
                    "prompt_tokens", "completion_tokens", "cost_usd"]
INPUT_COLUMNS = ["text_id", "conversation", "response", "goal"]
SCORE_PREFIX = '{"key_features": [], "score": '
SCORE_DIGITS = ("1", "2", "3", "4", "5")


# ------------------------------------------------------------------------------------------------ parsing
def _top_level_objects(text: str) -> list:
    """Every top-level JSON object in ``text``, in order (objects nested in another one are not listed)."""
    decoder = json.JSONDecoder()
    found, i = [], text.find("{")
    while i != -1:
        try:
            obj, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            i = text.find("{", i + 1)
            continue
        if isinstance(obj, dict):
            found.append(obj)
        i = text.find("{", end)
    return found


def parse_judgment(text: str | None) -> tuple[float | None, list[str] | None, str | None]:
    """``(score, key_features, None)`` from the last top-level JSON object in ``text``, or ``(None, None, error)``.

    Text before and after the object and a ```` ```json ```` fence around it are allowed. The object must have
    ``score``, a number (not a string or a bool) in [1, 5] that is a multiple of 0.5, and ``key_features``, a list
    of strings (an empty list is accepted) or one string (returned as a one-element list). A missing
    ``key_features`` is an error: the protocol lists them before scoring.
    """
    if text is None or not text.strip():
        return None, None, "empty output"
    objects = _top_level_objects(text)
    if not objects:
        return None, None, "not JSON: no JSON object in the output"
    obj = objects[-1]
    if "score" not in obj:
        return None, None, f"missing score: the last JSON object has keys {sorted(obj)}"
    score = obj["score"]
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        return None, None, f"score not a number: {json.dumps(score)[:40]}"
    if not math.isfinite(score) or not 1 <= score <= 5:
        return None, None, f"score out of range [1, 5]: {score}"
    if not float(score * 2).is_integer():
        return None, None, f"score not a 0.5 step: {score}"
    if "key_features" not in obj:
        return None, None, "missing key_features"
    features = obj["key_features"]
    if isinstance(features, str):
        features = [features]
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        return None, None, f"key_features not a list of strings: {json.dumps(features)[:60]}"
    return float(score), features, None


# ------------------------------------------------------------------------------------------------ template
def load_judge_template(template: str | None = None) -> tuple[str, Path]:
    """The template text and its path: ``None`` = ``conf/templates/pointwise_judge_v1.txt``; a bare name =
    ``conf/templates/<name>.txt``; else a file path (a relative one is tried from the working directory, then from
    the project root)."""
    conf = find_conf_dir()
    if template is None:
        path = conf / "templates" / f"{DEFAULT_TEMPLATE}.txt"
    elif not Path(template).suffix and "/" not in str(template):
        path = conf / "templates" / f"{template}.txt"
    else:
        path = Path(template)
        if not path.is_absolute() and not path.exists():
            path = conf.parent / path
    if not path.is_file():
        raise FileNotFoundError(f"pointwise judge template {template!r}: {path} not found (give a file path or a name in {conf / 'templates'})")
    text = path.read_text(encoding="utf-8")
    try:
        text.format(goal="g", conversation="c", response="r")
    except (KeyError, IndexError, ValueError) as err:
        raise ValueError(f"{path}: the template may use only {{goal}}, {{conversation}}, {{response}} and must write literal "
                         f"braces as {{{{ }}}} ({type(err).__name__}: {err})") from None
    missing = [p for p in ("{goal}", "{conversation}", "{response}") if p not in text]
    if missing:
        raise ValueError(f"{path}: the template lacks the placeholder(s) {', '.join(missing)}")
    return text, path


def _goal(value, text_id: str) -> str:
    goal = str(value).strip().lower()
    if goal not in JUDGED_GOALS:
        raise ValueError(f"pointwise judge: text {text_id}: field 'goal' is {value!r}; expected one of {', '.join(JUDGED_GOALS)} (any case)")
    return goal


# ------------------------------------------------------------------------------------------------ judge
class PointwiseJudge:
    """A point-wise 1–5 judge over any ``rmeval.llm`` backend (see the module docstring)."""

    Config = JudgeConfig  # conf/judge/<name>.yaml's settings, validated at the dry run; the judge receives them
    #: the forced answer start in ``expected_value`` mode; it must end right where the score's first digit goes
    score_prefix = SCORE_PREFIX

    def __init__(self, config: JudgeConfig | None = None, **given):
        c = self.config = settings(self.Config, config, given, f"pointwise judge {given.get('name', '?')}")
        name, mode = c.name, c.mode
        if mode not in MODES:
            raise ValueError(f"pointwise judge {name}: mode {mode!r}; expected one of {', '.join(MODES)}")
        if int(c.max_attempts) < 1:
            raise ValueError(f"pointwise judge {name}: max_attempts must be >= 1, got {c.max_attempts}")
        self.name, self.backend, self.mode = name, _backend(c.backend), mode
        if mode == "expected_value":
            from rmeval.llm.hf_local import HFLocalBackend

            if not isinstance(self.backend, HFLocalBackend):
                raise ValueError(f"pointwise judge {name}: mode expected_value needs rmeval.llm.hf_local.HFLocalBackend "
                                 f"(it reads the model's next-token probabilities), got {type(self.backend).__name__}; use mode: generate")
        self.template, self.template_path = load_judge_template(c.template)

    def fingerprint(self) -> dict:
        c = self.config
        fp = {"family": "pointwise_judge", **self.backend.fingerprint(), "template_sha256": stable_hash(self.template),
              "mode": self.mode, "seed": int(c.seed)}
        if self.mode == "generate":
            fp.update(max_tokens=int(c.max_tokens), temperature=float(c.temperature), max_attempts=int(c.max_attempts),
                      retry_temperature=None if c.retry_temperature is None else float(c.retry_temperature))
        else:
            fp.update(score_prefix=self.score_prefix)
        return fp

    def prompt(self, conversation, response: str, goal: str) -> str:
        return self.template.format(goal=goal, conversation=render_conversation(list(conversation)), response=response)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        c = self.config
        return prompt_tokens / 1000 * float(c.price_per_1k_prompt) + completion_tokens / 1000 * float(c.price_per_1k_completion)

    def judge(self, rows: pd.DataFrame, cache: GenerationCache | None = None, progress: bool = True) -> pd.DataFrame:
        """One judgment per row of ``rows`` (columns text_id, conversation, response, goal), in the same order."""
        missing = [c for c in INPUT_COLUMNS if c not in rows.columns]
        if missing:
            raise KeyError(f"pointwise judge {self.name}: input rows lack column(s) {', '.join(missing)} (need {', '.join(INPUT_COLUMNS)})")
        text_ids = [str(t) for t in rows["text_id"]]
        prompts = [self.prompt(c, r, _goal(g, t)) for t, c, r, g in
                   zip(text_ids, rows["conversation"], rows["response"], rows["goal"])]
        if self.mode == "generate":
            records = self._generate(text_ids, prompts, cache, progress)
            columns = JUDGMENT_COLUMNS
        else:
            records = self._expected_value(text_ids, prompts, cache, progress)
            columns = [*JUDGMENT_COLUMNS, "expected_score"]
        df = pd.DataFrame(records, columns=columns)
        df["score"] = df["score"].astype("float64")
        df["valid"] = df["valid"].astype(bool)
        for col in ("attempts", "prompt_tokens", "completion_tokens"):
            df[col] = df[col].astype("int64")
        df["cost_usd"] = df["cost_usd"].astype("float64")
        if "expected_score" in df:
            df["expected_score"] = df["expected_score"].astype("float64")
        s = summary(df)
        log.info("%s: %d judgments, %d valid, %d invalid, %d prompt + %d completion tokens, $%.4f",
                 self.name, s["n"], s["valid"], s["invalid"], s["prompt_tokens"], s["completion_tokens"], s["cost_usd"])
        return df

    def summary(self, df: pd.DataFrame) -> dict:
        return summary(df)

    # -------------------------------------------------------------------------------------------- generate
    def _request(self, text_id: str, prompt: str, attempt: int) -> ChatRequest:
        c = self.config
        temperature = float(c.temperature if attempt == 0 or c.retry_temperature is None else c.retry_temperature)
        return ChatRequest(key=f"{text_id}/attempt{attempt}", messages=[{"role": "user", "content": prompt}],
                           max_tokens=int(c.max_tokens), temperature=temperature, seed=int(c.seed) + attempt)

    def _generate(self, text_ids: list[str], prompts: list[str], cache, progress: bool) -> list[dict]:
        records = [{"text_id": t, "judge": self.name, "score": float("nan"), "key_features": None, "raw": None, "valid": False,
                    "attempts": 0, "error": None, "prompt_tokens": 0, "completion_tokens": 0} for t in text_ids]
        pending = list(range(len(text_ids)))
        for attempt in range(int(self.config.max_attempts)):
            if not pending:
                break
            if attempt:
                log.info("%s: attempt %d for %d judgment(s) that did not parse", self.name, attempt + 1, len(pending))
            requests = [self._request(text_ids[i], prompts[i], attempt) for i in pending]
            results = generate_cached(self.backend, requests, cache, progress=progress)
            still = []
            for i, res in zip(pending, results):
                rec = records[i]
                rec["attempts"] = attempt + 1
                rec["prompt_tokens"] += int(res.prompt_tokens or 0)
                rec["completion_tokens"] += int(res.completion_tokens or 0)
                if res.text is not None:
                    rec["raw"] = res.text  # the last text the judge returned (a backend failure returns none)
                if not res.ok:
                    rec["error"] = f"backend error: {res.error}"
                    still.append(i)
                    continue
                score, features, error = parse_judgment(res.text)
                if error is not None:
                    rec["error"] = error
                    still.append(i)
                    continue
                rec.update(score=score, key_features=json.dumps(features, ensure_ascii=False), valid=True, error=None)
            pending = still
        if pending:
            log.warning("%s: %d of %d judgment(s) still invalid after %d attempt(s); kept with their raw output",
                        self.name, len(pending), len(text_ids), self.config.max_attempts)
        for rec in records:
            rec["cost_usd"] = self.cost(rec["prompt_tokens"], rec["completion_tokens"])
        return records

    # -------------------------------------------------------------------------------------------- expected value
    def _expected_value(self, text_ids: list[str], prompts: list[str], cache, progress: bool) -> list[dict]:
        import torch

        be = self.backend
        records = []
        if not text_ids:
            return records
        be.load()
        tok, model = be.tokenizer, be.model
        messages = [[{"role": "user", "content": p}] for p in prompts]
        texts = [tok.apply_chat_template(m, tokenize=False, add_generation_prompt=True) + self.score_prefix for m in messages]
        bos = tok.bos_token
        add_special = not (bos and texts[0].startswith(bos))
        digit_ids = score_token_ids(tok, texts[0], self.score_prefix)
        fp = {**be.fingerprint(), "mode": "expected_value", "score_prefix": self.score_prefix, "score_token_ids": digit_ids}
        requests = [ChatRequest(key=t, messages=m, max_tokens=0, temperature=0.0, seed=int(self.config.seed)) for t, m in zip(text_ids, messages)]
        keys = [r.cache_key(fp) for r in requests]
        results: list[ChatResult | None] = [cache.get(k, r.key) if cache is not None and k in cache else None
                                            for k, r in zip(keys, requests)]
        todo = [i for i, r in enumerate(results) if r is None]
        if todo:
            lengths = {i: len(tok(texts[i], add_special_tokens=add_special)["input_ids"]) for i in todo}
            order = sorted(todo, key=lambda i: (-lengths[i], i))  # similar lengths together: less padding
            size = be.config.batch_size
            batches = [order[k: k + size] for k in range(0, len(order), size)]
            ids_t = torch.tensor(digit_ids)
            with progress_bar(len(todo), f"{self.name}: score tokens", "text", enabled=progress) as bar:
                for batch in batches:
                    enc = tok([texts[i] for i in batch], return_tensors="pt", padding=True,
                              add_special_tokens=add_special).to(model.device)
                    mask = enc["attention_mask"]
                    if mask[:, -1].min() == 0:
                        raise RuntimeError(f"{self.name}: the tokenizer does not pad on the left; expected_value reads the last position")
                    position_ids = (mask.long().cumsum(-1) - 1).clamp(min=0)
                    inputs = {"input_ids": enc["input_ids"], "attention_mask": mask, "position_ids": position_ids}
                    with torch.inference_mode():
                        try:
                            logits = model(**inputs, logits_to_keep=1).logits[:, -1, :]
                        except TypeError:  # a model class without logits_to_keep
                            logits = model(**inputs).logits[:, -1, :]
                    probs = torch.softmax(logits.float(), dim=-1)[:, ids_t.to(logits.device)].cpu().double().tolist()
                    for row, i in enumerate(batch):
                        raw = json.dumps({"score_prefix": self.score_prefix, "p": dict(zip(SCORE_DIGITS, probs[row]))})
                        res = ChatResult(key=text_ids[i], text=raw, finish_reason="score_tokens",
                                         prompt_tokens=int(mask[row].sum()), completion_tokens=0, cache_key=keys[i])
                        results[i] = res
                        if cache is not None:
                            cache.append(res)
                    bar.update(len(batch))
        for t, res in zip(text_ids, results):
            p = np.array([json.loads(res.text)["p"][d] for d in SCORE_DIGITS], dtype=np.float64)
            mass = float(p.sum())
            valid = bool(np.isfinite(p).all() and mass > 0)
            expected = float((p / mass) @ np.arange(1, 6)) if valid else float("nan")
            records.append({
                "text_id": t, "judge": self.name, "score": math.floor(expected * 2 + 0.5) / 2 if valid else float("nan"),
                "key_features": None, "raw": res.text, "valid": valid, "attempts": 1,
                "error": None if valid else "score tokens have no probability mass",
                "prompt_tokens": res.prompt_tokens, "completion_tokens": 0,
                "cost_usd": self.cost(res.prompt_tokens, 0), "expected_score": expected,
            })
        return records


def score_token_ids(tokenizer, context: str, prefix: str = SCORE_PREFIX) -> list[int]:
    """The token ids of the digits 1..5 right after ``context`` (which ends with the forced ``prefix``): each digit
    must add exactly one token and leave the context's tokens unchanged, else a one-line error."""
    base = tokenizer(context, add_special_tokens=False)["input_ids"]
    ids = []
    for d in SCORE_DIGITS:
        with_digit = tokenizer(context + d, add_special_tokens=False)["input_ids"]
        if len(with_digit) != len(base) + 1 or with_digit[: len(base)] != base:
            raise ValueError(f"expected_value: after the forced prefix {prefix!r} the score digit {d!r} is not one separate token "
                             f"for tokenizer {getattr(tokenizer, 'name_or_path', '?')!r}; this mode needs single-token digits "
                             "(change score_prefix, or use mode: generate)")
        ids.append(with_digit[-1])
    return ids


def summary(df: pd.DataFrame) -> dict:
    """Counts for a judgments frame: valid/invalid, invalid reasons, attempts histogram, score histogram, tokens, cost."""
    valid = df["valid"].astype(bool)
    reasons = Counter(str(e).split(":")[0] for e in df.loc[~valid, "error"])
    out = {
        "n": len(df),
        "valid": int(valid.sum()),
        "invalid": int((~valid).sum()),
        "valid_rate": float(valid.mean()) if len(df) else None,
        "invalid_reasons": dict(sorted(reasons.items())),
        "attempts": {str(k): int(v) for k, v in sorted(Counter(int(a) for a in df["attempts"]).items())},
        "scores": {f"{k:.1f}": int(v) for k, v in sorted(Counter(float(s) for s in df.loc[valid, "score"]).items())},
        "prompt_tokens": int(df["prompt_tokens"].sum()),
        "completion_tokens": int(df["completion_tokens"].sum()),
        "cost_usd": float(df["cost_usd"].sum()),
    }
    if "expected_score" in df and valid.any():
        out["mean_expected_score"] = float(df.loc[valid, "expected_score"].mean())
    return out
