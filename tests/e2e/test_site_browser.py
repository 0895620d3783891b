"""The results site of a smoke run, driven in a real headless Chromium: the cross-benchmark leaderboard sorts, an item
from the "every non-baseline RM wrong" filter shows the texts and scores of the parquet files, the filters count what
the parquet files say, a response holding markup is shown as text, and every page opens from file:// with nothing
from the network. A screenshot of each page goes to a temporary folder.

Needs Debian's ``chromium`` and ``chromium-driver`` (apt) and ``selenium`` (the test extra); skipped without them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.e2e

RUN = "site"
BASELINES = {"random", "length"}
RMS = ["random", "length", "tiny-classifier", "tiny-judge"]
CONFIG = ["experiment=smoke", f"run={RUN}", "benchmarks.names=[smoke,custom]", f"rms.names=[{','.join(RMS)}]", "downstream.enabled=false"]
PAYLOAD = '<script>alert(1)</script><img src="x" onerror="window.pwned = 1">\n  & <b>not bold</b>'
MULTILINE = "First line.\n    indented second line\n\nfourth line after a blank one"
CUSTOM = [
    {"id": "markup", "prompt": "Show me how a script tag looks.", "chosen": MULTILINE, "rejected": PAYLOAD, "group": "markup"},
    {"id": "same", "prompt": "Say hello.", "chosen": "Hello!", "rejected": "Hello!", "group": "identical"},
    {"id": "bon", "prompt": [{"role": "user", "content": "Name a colour."}], "chosen": "Blue, the colour of the sky.",
     "rejected": ["Red.", "A colour."], "group": "colours"},
    {"id": "pair", "prompt": "Count to three.", "chosen": "One, two, three.", "rejected": "One, three.", "group": "colours"},
]


def chromium_paths() -> tuple[str, str]:
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[test]')")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("no chromium/chromedriver on PATH (Debian: apt-get install chromium chromium-driver)")
    return browser, driver


@pytest.fixture(scope="module")
def driver():
    browser, chromedriver = chromium_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console errors fail the page
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(arg)
    drv = webdriver.Chrome(service=Service(chromedriver), options=options)
    yield drv
    drv.quit()


@pytest.fixture(scope="module")
def workdir(project_root, tmp_path_factory, driver):
    """The smoke benchmark and a custom one holding markup and an identical pair, four RMs, through `snakemake` up to
    the site (no downstream stage: the site does not need it)."""
    work = tmp_path_factory.mktemp("site_run")
    custom = work / "custom.jsonl"
    custom.write_text("".join(json.dumps(r) + "\n" for r in CUSTOM), encoding="utf-8")
    target = f"results/runs/{RUN}/site/index.html"
    cmd = [sys.executable, "-m", "snakemake", "-s", str(project_root / "Snakefile"), "--directory", str(work),
           "--cores", "2", target, "--config", f"overrides={json.dumps(CONFIG)}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env={**os.environ, "CUSTOM_BENCHMARK_PATH": str(custom)})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return work


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return tmp_path_factory.mktemp("site_screenshots")


def site_url(workdir: Path, page: str, fragment: str = "") -> str:
    return (workdir / "results/runs" / RUN / "site" / page).as_uri() + (f"#{fragment}" if fragment else "")


def open_page(driver, url: str, shots: Path | None = None, name: str | None = None):
    """Load a page and wait until it says it is drawn (``body[data-ready=1]``); fail on any console error."""
    from selenium.webdriver.common.by import By

    driver.get(url)
    wait_ready(driver)
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    assert driver.find_elements(By.CSS_SELECTOR, "#main .error") == []
    if shots is not None:
        full = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1400, min(max(full, 600), 4000))
        driver.save_screenshot(str(shots / f"{name}.png"))
        driver.set_window_size(1400, 1000)


def wait_ready(driver, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if driver.execute_script("return document.body && document.body.dataset.ready") == "1":
            return
        time.sleep(0.05)
    raise AssertionError(f"{driver.current_url}: not drawn within {timeout} s")


def choose(driver, select_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, select_id)).select_by_value(value)
    wait_ready(driver)


def listed_count(driver) -> int:
    from selenium.webdriver.common.by import By

    text = driver.find_element(By.CSS_SELECTOR, ".pager span").text  # "page 1 of 2 (30 items)"
    return int(text.rsplit("(", 1)[1].split()[0].replace(",", ""))


# ------------------------------------------------------------------------------------------- what the parquets say
def results(workdir: Path, benchmark: str):
    data = workdir / "results/data" / benchmark
    items, texts = pd.read_parquet(data / "items.parquet"), pd.read_parquet(data / "texts.parquet")
    scores = {rm: pd.read_parquet(workdir / f"results/scores/{benchmark}/{rm}.parquet") for rm in RMS if rm != "tiny-judge"}
    judge = pd.read_parquet(workdir / f"results/scores/{benchmark}/tiny-judge.comparisons.parquet")
    return items, texts, scores, judge


def right(items: pd.DataFrame, scores: dict, judge: pd.DataFrame) -> dict[str, set[str]]:
    """Per RM, the items it gets right: the chosen score strictly above every rejected one (all finite); the judge:
    the chosen won every comparison of the item (the RMB layout's rule)."""
    out = {}
    for rm, table in scores.items():
        s = dict(zip(table["text_id"], table["score"]))
        out[rm] = {i for i, c, rej in zip(items["item_id"], items["chosen_id"], items["rejected_ids"])
                   if np.isfinite([s[c], *(s[t] for t in rej)]).all() and s[c] > max(s[t] for t in rej)}
    won = judge.groupby("item_id")["chosen_won"].all()
    out["tiny-judge"] = set(won[won].index)
    return out


# ------------------------------------------------------------------------------------------- the tests
def test_cross_benchmark_leaderboard_sorts_by_a_column(driver, workdir, shots):
    from selenium.webdriver.common.by import By

    open_page(driver, site_url(workdir, "index.html"), shots, "index")
    board = pd.read_csv(workdir / f"results/runs/{RUN}/leaderboard/all.csv")
    rows = driver.find_elements(By.CSS_SELECTOR, "#leaderboard tbody tr")
    assert [r.get_attribute("data-rm") for r in rows] == list(board["rm"])  # the file's order first

    def column(name: str) -> list:
        cells = driver.find_elements(By.CSS_SELECTOR, f'#leaderboard tbody td[data-column="{name}"]')
        return [float(c.get_attribute("data-value")) if c.get_attribute("data-value") else None for c in cells]

    header = driver.find_element(By.CSS_SELECTOR, '#leaderboard th[data-column="smoke"]')
    header.click()
    assert header.get_attribute("aria-sort") == "descending"
    values = column("smoke")
    present = [v for v in values if v is not None]
    assert present == sorted(present, reverse=True) and values[len(present):] == [None] * (len(values) - len(present))
    assert sorted(present) == sorted(board["smoke"].dropna().tolist())
    header.click()
    assert header.get_attribute("aria-sort") == "ascending"
    present = [v for v in column("smoke") if v is not None]
    assert present == sorted(present)
    # the rows moved with their values: each RM still shows its own number
    for row in driver.find_elements(By.CSS_SELECTOR, "#leaderboard tbody tr"):
        cell = row.find_element(By.CSS_SELECTOR, 'td[data-column="smoke"]').get_attribute("data-value")
        expected = board.set_index("rm").loc[row.get_attribute("data-rm"), "smoke"]
        assert (cell == "" and pd.isna(expected)) or float(cell) == pytest.approx(expected)
    links = [e.get_attribute(attr) for e in driver.find_elements(By.CSS_SELECTOR, "a, link, script, img")
             for attr in ("href", "src") if e.get_attribute(attr)]
    assert links and all(link.startswith("file://") for link in links), links  # nothing from the network


def test_benchmark_leaderboard_page_has_its_matrix_and_figures(driver, workdir, shots):
    from selenium.webdriver.common.by import By

    open_page(driver, site_url(workdir, "benchmarks/smoke/leaderboard.html"), shots, "leaderboard_smoke")
    board = pd.read_csv(workdir / f"results/runs/{RUN}/leaderboard/smoke.csv")
    assert [r.get_attribute("data-rm") for r in driver.find_elements(By.CSS_SELECTOR, "#leaderboard tbody tr")] == list(board["rm"])
    assert len(driver.find_elements(By.CSS_SELECTOR, "table.matrix tbody tr")) == len(RMS)
    images = driver.find_elements(By.CSS_SELECTOR, "figure img")
    assert images and all(driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img) for img in images)
    assert all(f.text.strip() for f in driver.find_elements(By.CSS_SELECTOR, "figcaption"))


def test_an_item_every_rm_gets_wrong_shows_the_parquet_texts_and_scores(driver, workdir, shots):
    from selenium.webdriver.common.by import By

    items, texts, scores, judge = results(workdir, "smoke")
    ok = right(items, scores, judge)
    expected = [i for i in items["item_id"] if not any(i in ok[rm] for rm in RMS if rm not in BASELINES)]
    assert expected, "the smoke run has no item that every non-baseline RM gets wrong"
    open_page(driver, site_url(workdir, "benchmarks/smoke/items.html"), shots, "items_smoke")
    assert listed_count(driver) == len(items)
    choose(driver, "filter-show", "all_wrong")
    assert listed_count(driver) == len(expected)
    listed = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#item-list a.item-link")]
    assert listed == expected[:25]
    driver.find_element(By.CSS_SELECTOR, "#item-list a.item-link").click()
    wait_ready(driver)
    open_page(driver, driver.current_url, shots, "item_smoke")
    item_id = driver.find_element(By.ID, "item-title").get_attribute("data-item")
    assert item_id == expected[0]
    row = items.set_index("item_id").loc[item_id]
    by_text = texts.set_index("text_id")
    shown = {p.get_attribute("data-text-id"): p.get_property("textContent")
             for p in driver.find_elements(By.CSS_SELECTOR, '#responses pre[data-role="response"]')}
    assert shown == {tid: by_text.loc[tid, "response"] for tid in [row["chosen_id"], *row["rejected_ids"]]}
    turns = [p.get_property("textContent") for p in driver.find_elements(By.CSS_SELECTOR, "#conversation pre")]
    assert turns == [t["content"] for t in by_text.loc[row["chosen_id"], "conversation"]]
    for rm, table in scores.items():
        s = dict(zip(table["text_id"], table["score"]))
        for tid in [row["chosen_id"], *row["rejected_ids"]]:
            cell = driver.find_element(By.CSS_SELECTOR, f'#rm-scores td[data-rm="{rm}"][data-text-id="{tid}"]').get_attribute("data-value")
            assert (cell == "NaN" and np.isnan(s[tid])) or float(cell) == s[tid], (rm, tid, cell, s[tid])
    outcomes = {c.get_attribute("data-rm"): c.get_attribute("data-outcome") for c in driver.find_elements(By.CSS_SELECTOR, "#rm-scores td[data-outcome]")}
    assert set(outcomes) == set(RMS)
    assert all(outcomes[rm] != "R" for rm in RMS if rm not in BASELINES)
    assert all((outcomes[rm] == "R") == (item_id in ok[rm]) for rm in RMS)
    verdicts = driver.find_elements(By.CSS_SELECTOR, 'table.verdicts[data-rm="tiny-judge"] tbody tr')
    mine = judge[judge["item_id"] == item_id]
    assert len(verdicts) == len(mine)  # every comparison, both orders
    raws = [p.get_property("textContent") for p in driver.find_elements(By.CSS_SELECTOR, 'table.verdicts pre[data-role="raw"]')]
    assert sorted(raws) == sorted(mine["raw"].astype(str))


def test_two_rms_disagree_filter_counts_what_the_scores_say(driver, workdir):
    items, texts, scores, judge = results(workdir, "smoke")
    ok = right(items, scores, judge)
    open_page(driver, site_url(workdir, "benchmarks/smoke/items.html"))
    choose(driver, "filter-show", "disagree")
    choose(driver, "filter-rm", "length")
    choose(driver, "filter-rm2", "tiny-classifier")
    assert listed_count(driver) == len(ok["length"] ^ ok["tiny-classifier"])
    choose(driver, "filter-show", "wrong")
    choose(driver, "filter-format", "bon")
    bon = set(items.loc[items["format"] == "bon", "item_id"])
    assert listed_count(driver) == len(bon - ok["length"])


def test_markup_in_a_response_is_shown_as_text(driver, workdir, shots):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    items, texts, *_ = results(workdir, "custom")
    row = items[items["item_id"] == "custom-markup"].iloc[0]
    open_page(driver, site_url(workdir, "benchmarks/custom/items.html", "item=custom-markup"), shots, "item_markup")
    payload = driver.find_element(By.CSS_SELECTOR, f'pre[data-text-id="{row["rejected_ids"][0]}"]')
    assert payload.get_property("textContent") == PAYLOAD
    chosen = driver.find_element(By.CSS_SELECTOR, f'pre[data-text-id="{row["chosen_id"]}"]')
    assert chosen.get_property("textContent") == MULTILINE and chosen.value_of_css_property("white-space") == "pre-wrap"
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text
    assert driver.execute_script("return window.pwned === undefined && document.querySelectorAll('#main script, #main img').length === 0")


def test_suspect_page_lists_identical_texts_and_every_rm_wrong(driver, workdir, shots):
    from selenium.webdriver.common.by import By

    items, texts, scores, judge = results(workdir, "custom")
    open_page(driver, site_url(workdir, "benchmarks/custom/suspect.html"), shots, "suspect_custom")
    identical = driver.find_element(By.ID, "suspect-identical")
    assert identical.get_attribute("data-count") == "1"
    assert [a.text for a in identical.find_elements(By.CSS_SELECTOR, "tbody a")] == ["custom-same"]
    ok = right(items, scores, judge)
    every_wrong = {i for i in items["item_id"] if not any(i in ok[rm] for rm in RMS if rm not in BASELINES)}
    assert "custom-same" in every_wrong  # an identical pair can never be right
    listed = driver.find_element(By.ID, "suspect-all-wrong")
    assert {a.text for a in listed.find_elements(By.CSS_SELECTOR, "tbody a")} == every_wrong


def test_every_page_left_a_screenshot(driver, shots):  # `driver`: skipped with the others where there is no browser
    names = sorted(p.name for p in shots.iterdir())
    assert names == sorted(f"{n}.png" for n in ("index", "leaderboard_smoke", "items_smoke", "item_smoke", "item_markup", "suspect_custom"))
    assert all((shots / n).stat().st_size > 5_000 for n in names)
