"""benchmarks/gpu_check.py: its --help documents the device run, its synthetic texts have RMB's shape, and its CPU
dry mode (--device cpu --shape tiny) measures the four paths with packed scores equal to padded ones in fp32."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DRY = ["--device", "cpu", "--shape", "tiny", "--threads", "1"]


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _no_rmb(monkeypatch):
    monkeypatch.delenv("RMB_ROOT", raising=False)  # the dry mode uses the synthetic texts wherever it runs


def _table(report: str) -> dict[str, dict[str, str]]:
    """The report's markdown table as {path: {column: cell}}."""
    lines = [line for line in report.splitlines() if line.startswith("|")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [dict(zip(head, (c.strip() for c in line.strip("|").split("|")))) for line in lines[2:]]
    return {row["path"]: row for row in rows}


def _num(cell: str) -> float:
    return float(cell.replace(",", "").rstrip("%").split()[0])


def test_help_documents_the_one_command_device_run(gpu_check, capsys):
    with pytest.raises(SystemExit) as stop:
        gpu_check.parse_args(["--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert "PYTHONPATH=src python3 benchmarks/gpu_check.py --out gpu_check.md" in text
    assert "Expected time: under 8 minutes" in text and "--time-limit" in text  # how long it takes and what bounds it
    assert "--device cpu --shape tiny" in text


def test_synthetic_texts_have_exact_lengths_and_rmb_shape(gpu_check):
    tok = gpu_check.word_tokenizer(200)
    texts = gpu_check.synthetic_texts(600, seed=3, n_words=200)
    again = gpu_check.synthetic_texts(600, seed=3, n_words=200)
    assert texts.equals(again) and len(texts) == 600 and texts["text_id"].is_unique
    per_prompt = texts.groupby("prompt_id").size()
    assert per_prompt.iloc[:-1].between(2, 12).all() and 4.5 < per_prompt.mean() < 7.5  # RMB: 2-12, mean 6.1
    conv, response = texts["conversation"][0], texts["response"][0]
    ids = tok.apply_chat_template([*conv, {"role": "assistant", "content": response}], tokenize=False)
    n_words = len(conv[0]["content"].split()) + len(response.split())
    assert len(tok(ids, add_special_tokens=False)["input_ids"]) == n_words + 5  # BOS, two role tags, two EOS
    assert tok.unk_token_id not in tok(ids, add_special_tokens=False)["input_ids"]
    responses = np.array([len(r.split()) for r in texts["response"]])
    prompts = np.array([len(c[0]["content"].split()) for c in texts.drop_duplicates("prompt_id")["conversation"]])
    assert 220 < np.median(responses) < 400 and 25 < np.median(prompts) < 110  # RMB medians: 303 and 52 tokens


def test_cpu_dry_mode_measures_three_paths(gpu_check, tmp_path):
    out = tmp_path / "gpu_check.md"
    assert gpu_check.main([*DRY, "--out", str(out)]) == 0
    report = out.read_text(encoding="utf-8")
    table = _table(report)
    assert list(table) == ["padded", "padded+shared", "packed", "packed+shared"]
    assert _num(table["padded+shared"]["shared-prefix tokens"]) > 0
    assert _num(table["padded+shared"]["max abs diff vs padded"]) <= 1e-5
    assert [row["ran as"] for row in table.values()] == ["padded", "padded + shared prefixes", "packed",
                                                        "packed + shared prefixes"]
    real = {path: _num(row["real tokens"]) for path, row in table.items()}
    forward = {path: _num(row["forward tokens"]) for path, row in table.items()}
    assert len(set(real.values())) == 1 and real["padded"] > 0  # the same texts on every path
    assert forward["padded"] > real["padded"]  # padding
    assert forward["packed"] == real["packed"]  # none
    shared = _num(table["packed+shared"]["shared-prefix tokens"])
    assert shared > 0 and forward["packed+shared"] == real["packed+shared"] - shared  # each shared prefix once
    for row in table.values():
        assert row["texts"] == "40"  # all of them: the dry run is not cut short
        assert _num(row["real tok/s (wall)"]) > 0 and _num(row["forward tok/s"]) > 0
        assert 0 < _num(row["MFU"]) <= 100
        assert row["peak GiB"] == "n/a"  # no CUDA allocator on the CPU
    # fp32: packed scores equal padded ones (issue 21: 1e-5), with and without shared prefixes
    assert _num(table["padded"]["max abs diff vs padded"]) == 0
    assert _num(table["packed"]["max abs diff vs padded"]) <= 1e-5
    assert _num(table["packed+shared"]["max abs diff vs padded"]) <= 1e-5
    assert re.search(r"matmul peak [\d.]+ GFLOP/s measured in this run", report)
    assert "MFU = 2 x non-embedding parameters x forward tokens" in report


def test_time_limit_stops_each_path_after_one_chunk(gpu_check):
    rows, report = gpu_check.run([*DRY, "--time-limit", "0", "--chunks", "2", "--paths", "padded,packed+shared"])
    table = _table(report)
    assert list(table) == ["padded", "packed+shared"]
    assert all(row["texts"].endswith("(partial)") for row in table.values())
    assert 0 < rows[0]["n_scored"] < 40 and rows[1]["n_scored"] == rows[0]["n_scored"]  # the same first chunk
    assert _num(table["packed+shared"]["max abs diff vs padded"]) <= 1e-5


def test_out_of_memory_retries_at_half_the_budget(gpu_check, monkeypatch):
    import torch

    from rmeval import scoring

    real, calls = scoring.score_texts, []

    def first_call_runs_out(*args, **kwargs):
        calls.append(args[0].token_budget)
        if len(calls) == 1:
            raise torch.OutOfMemoryError("simulated")
        return real(*args, **kwargs)

    monkeypatch.setattr(scoring, "score_texts", first_call_runs_out)
    rows, report = gpu_check.run([*DRY, "--paths", "padded", "--token-budget", "2048"])
    assert calls[:2] == [2048, 1024] and rows[0]["budget"] == 1024 and rows[0]["n_scored"] == 40
    assert _table(report)["padded"]["budget"] == "1,024"
