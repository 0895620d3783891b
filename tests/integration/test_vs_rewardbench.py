"""Agreement with the real peer: the rewardbench 0.1.4 CLI on the same tiny model and pairs as rmeval.

The peer lives in its own venv (its transformers is pinned to 4.51): ``$RMEVAL_PEER_VENV`` or
``resources/rewardbench-venv`` (``python benchmarks/vs_rewardbench.py`` installs it). Where rewardbench does not
import there, every test here skips.

What is asserted:
- pad != EOS, untruncated: both sides give the same score to every text (float32 tolerance);
- pad = EOS: the peer's score is the score of the text without its final EOS (it left-pads and pools the rightmost
  token that is not the pad id, which is the token before the final EOS); rmeval pools the EOS itself;
- truncated: the peer's score is the score of the last max_length tokens (BOS cut away); rmeval keeps BOS and cuts
  after it.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
MAX_LENGTH = 48

CONVS = [
    [{"role": "user", "content": "please explain the code"}],
    [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi, how can I help"},
     {"role": "user", "content": "write a short poem"}],
]
ANSWERS = [("here is a short answer", "no"), ("roses are red and the sky is blue", "a poem"),
           ("a much longer answer with many words " * 4, "thanks")]  # the first of the third pair is truncated


def _bench():
    spec = importlib.util.spec_from_file_location("vs_rewardbench", ROOT / "benchmarks" / "vs_rewardbench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def peer():
    bench = _bench()
    venv = Path(os.environ.get("RMEVAL_PEER_VENV", ROOT / "resources" / "rewardbench-venv"))
    python = bench.peer_python(venv)
    if python is None:
        pytest.skip(f"rewardbench is not importable in {venv} (python benchmarks/vs_rewardbench.py installs it)")
    return bench, python


def _pairs():
    from rmeval.ids import text_id

    rows, items = [], []
    for i, (good, bad) in enumerate(ANSWERS):
        conv = CONVS[i % len(CONVS)]
        ids = [text_id(conv, good), text_id(conv, bad)]
        rows += [(ids[0], conv, good), (ids[1], conv, bad)]
        items.append({"item_id": str(i), "chosen_id": ids[0], "rejected_ids": [ids[1]]})
    texts = pd.DataFrame(rows, columns=["text_id", "conversation", "response"]).drop_duplicates("text_id")
    return pd.DataFrame(items), texts.reset_index(drop=True)


def _run_both(bench, python, tmp_path: Path, pad_is_eos: bool):
    from rmeval.rms.classifier import SequenceClassifierRM
    from rmeval.scoring import score_texts
    from rmeval.tiny import build_tiny_classifier

    items, texts = _pairs()
    model_dir = bench.readable_by_peer(build_tiny_classifier(tmp_path / "tiny", seed=3, pad_is_eos=pad_is_eos))
    data = tmp_path / "pairs.jsonl"
    pairs = bench.export_peer_jsonl(items, texts, data)
    out = bench.run_peer(python, model_dir, data, 2, MAX_LENGTH, "float32", 1, tmp_path)
    rm = SequenceClassifierRM(name="tiny", model=str(model_dir), max_length=MAX_LENGTH, dtype="float32", device="cpu")
    ours, _ = score_texts(rm, texts, progress=False)
    peer_scores = {}
    for (c, r), sc, sr in zip(pairs, out["chosen"], out["rejected"]):
        peer_scores[c], peer_scores[r] = float(sc), float(sr)
    return rm, ours.set_index("text_id"), peer_scores, texts


def _alone(rm, ids) -> float:
    from helpers import hf_alone

    return hf_alone(rm.model_id, ids)


def _full_ids(rm, row) -> list[int]:
    """The text's ids before any truncation (rmeval's encoding with a max_length no text reaches)."""
    saved, rm.max_length = rm.max_length, 10_000
    try:
        return rm.encode_many([row.text_id], [row.conversation], [row.response])[0].payload
    finally:
        rm.max_length = saved


def test_peer_agrees_when_pad_is_not_eos(peer, tmp_path):
    bench, python = peer
    rm, ours, theirs, texts = _run_both(bench, python, tmp_path, pad_is_eos=False)
    assert ours["truncated"].sum() == 1
    for row in texts.itertuples(index=False):
        ids = _full_ids(rm, row)
        if len(ids) <= MAX_LENGTH:  # same text, same pooling: the same score
            assert abs(theirs[row.text_id] - ours.at[row.text_id, "score"]) < 1e-5
        else:  # the peer scores the last MAX_LENGTH tokens (BOS cut away); rmeval keeps BOS
            assert abs(theirs[row.text_id] - _alone(rm, ids[-MAX_LENGTH:])) < 1e-5
            kept = [ids[0], *ids[len(ids) - MAX_LENGTH + 1:]]
            assert abs(ours.at[row.text_id, "score"] - _alone(rm, kept)) < 1e-5
            assert abs(theirs[row.text_id] - ours.at[row.text_id, "score"]) > 1e-4


def test_peer_pools_the_token_before_eos_when_pad_is_eos(peer, tmp_path):
    bench, python = peer
    rm, ours, theirs, texts = _run_both(bench, python, tmp_path, pad_is_eos=True)
    eos = rm.tokenizer.eos_token_id
    for row in texts.itertuples(index=False):
        ids = _full_ids(rm, row)
        if len(ids) > MAX_LENGTH:
            continue
        assert ids[-1] == eos
        assert abs(ours.at[row.text_id, "score"] - _alone(rm, ids)) < 1e-5  # rmeval: the EOS itself
        assert abs(theirs[row.text_id] - _alone(rm, ids[:-1])) < 1e-5  # the peer: the token before it
    assert not np.allclose([theirs[t] for t in ours.index], ours["score"].to_numpy(), atol=1e-4)
