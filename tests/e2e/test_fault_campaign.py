"""Issue 25, items 2, 3 and 5 under Snakemake: a pairwise API judge (both orders, two compare jobs) against a
fault-injecting OpenAI-compatible server on 127.0.0.1 (429 with Retry-After, 500, 503, connection resets).

1. Ctrl-C during the storm: SIGINT to Snakemake's whole process group, as a terminal sends it, while both compare
   jobs are sending and retrying. The server stamps every request's arrival; none may arrive after the signal
   (beyond TOLERANCE_S, below).
2. A rerun in the same storm with 1 retry: the requests that failed every retry fail their job with one line naming
   how many; nothing answered before is sent again (request bodies compared).
3. The server heals; the same command again sends exactly the failed requests, once each, and completes: every
   comparison answered exactly once over the three runs, 0 lost.
4. The endpoint dies (a closed port): each job stops after a few refused connects with one line.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import FaultServer

pytestmark = pytest.mark.e2e
JUDGE = "gpt4o-judge"
TARGET = f"results/scores/example/{JUDGE}.comparisons.parquet"  # the two shards' merge: no metrics, no plots
# The server stamps a request with the time the kernel received its first bytes (tests/helpers.py: ChatServer),
# tens of microseconds after the client wrote them, whatever the load (its handler thread, which stamped them before,
# ran up to 0.02 s late on this 2-core machine as the signal woke every process). A request stamped within this much
# after the signal left before the job could know of it: a job takes the signal when its main thread next gets a CPU
# (a millisecond or two here with every process of the group woken at once); the stop flag reads the signal from
# then on (the wakeup socket) and is checked right before the first byte of each request. Measured: 0 requests after
# the signal in 9 of 9 runs; socket logging in the jobs over 8 more runs found 1 request opened 1.3 ms after it.
# Before the two fixes pinned by the last two tests below, requests left 5.5 ms and 5.6 ms after the signal.
TOLERANCE_S = 0.02
FAILED = re.compile(r"^error: gpt4o: (\d+) of (\d+) request\(s\) failed after every retry \(first: \w+.*\); the (\d+) "
                    r"answered are cached, so a rerun sends only the failed ones$", re.M)
# Counts every TCP connect of the processes Snakemake starts (only with RMEVAL_TEST_CONNECT_LOG set): the number of
# connection attempts to a closed port, which no server can count.
SITECUSTOMIZE = '''
import os, socket
_log = os.environ.get("RMEVAL_TEST_CONNECT_LOG")
if _log:
    _connect = socket.socket.connect
    def connect(self, address):
        try:
            result = _connect(self, address)
        except OSError as err:
            outcome = type(err).__name__
            raise
        else:
            outcome = "ok"
            return result
        finally:
            with open(_log, "a") as f:
                f.write(f"{os.getpid()} {address[1] if isinstance(address, tuple) else address} {outcome}\\n")
    socket.socket.connect = connect
'''


def command(project_root: Path, workdir: Path, url: str, *overrides: str) -> list[str]:
    rm = f"++rm_overrides.{JUDGE}."
    judge = [f"{rm}backend.base_url={url}", f"{rm}both_orders=true", f"{rm}score.shards=2", f"{rm}backend.concurrency=4",
             f"{rm}backend.backoff_base_s=0.2", f"{rm}backend.backoff_max_s=0.4", *(rm + o for o in overrides)]
    return [sys.executable, "-m", "snakemake", "-s", str(project_root / "Snakefile"), "--directory", str(workdir),
            "--cores", "2", TARGET, "--config", "benchmarks=[example]", f"rms=[{JUDGE}]", f"overrides=[{','.join(judge)}]"]


def run(cmd: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "OPENAI_API_KEY": "local", **(env or {})})
    proc.out = proc.stdout + proc.stderr
    return proc


def compare_jobs(workdir: Path) -> list[int]:
    """The pids of this workdir's running compare jobs."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().decode().split("\0")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if argv[1:3] == ["-m", "rmeval.stages.compare"] and cwd == str(workdir):
            pids.append(int(entry.name))
    return pids


def sent(server: FaultServer, since: int) -> list[str]:
    """The bodies (last message) of the requests that arrived after the first ``since``."""
    return [content for _, content in server.arrivals[since:]]


@pytest.fixture
def server():
    try:
        server = FaultServer(storm=0.6, retry_after="0.25")
    except OSError as err:
        pytest.skip(f"cannot listen on 127.0.0.1: {err}")
    yield server
    server.close()


def test_ctrl_c_in_a_fault_storm_then_failed_requests_then_a_dead_endpoint(project_root, tmp_path, server):
    workdir = tmp_path.resolve()
    # ------------------------------------------------------------------ 1. Ctrl-C while both jobs send and retry
    proc = subprocess.Popen(command(project_root, workdir, server.url, "backend.max_retries=10"), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "OPENAI_API_KEY": "local"},
                            start_new_session=True)  # its own process group, as a shell's foreground job
    try:
        deadline = time.time() + 120
        while proc.poll() is None and time.time() < deadline and not (
                len(server.arrivals) >= 16 and server.faults >= 4 and len(compare_jobs(workdir)) == 2):
            time.sleep(0.005)
        assert proc.poll() is None and len(compare_jobs(workdir)) == 2, "the storm never had both jobs sending"
        t_signal = time.time()
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground process group
        out = proc.communicate(timeout=120)[0]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert compare_jobs(workdir) == [], "a compare job outlived Snakemake"
    time.sleep(1.0)  # the sends the issue saw came 0.5-0.7 s after the signal
    before = [t for t, _ in server.arrivals if t <= t_signal]
    assert len(before) >= 16 and [t for t in before if t > t_signal - 0.25], "the signal did not come mid-storm"
    after = [round(t - t_signal, 4) for t, _ in server.arrivals if t > t_signal]
    assert [t for t in after if t > TOLERANCE_S] == [], f"requests sent after the signal (s after it): {after}"
    assert proc.returncode != 0 and out.count("error: interrupted (Ctrl-C)") == 2, out[-4000:]
    cached = sum(len(p.read_text().splitlines()) for p in workdir.glob(f"results/cache/generations/{JUDGE}/*.jsonl"))
    assert cached == sum(server.answered.values()) > 0  # every answer kept, the ones in flight too
    storm_sends, storm_faults = len(server.arrivals), server.faults

    # ------------------------------------------------------------------ 2. the same storm, 1 retry: some fail for good
    answered, n = set(server.answered), len(server.arrivals)
    retry_once = command(project_root, workdir, server.url, "backend.max_retries=1")
    proc = run(retry_once)
    failures = list(FAILED.finditer(proc.out))  # one line per failed job, on the console (and last in its log)
    assert proc.returncode != 0 and failures and len(failures) == proc.out.count("error: gpt4o:"), proc.out[-4000:]
    assert answered.isdisjoint(sent(server, n)), "a request answered before was sent again"
    failed = set(server.calls) - set(server.answered)
    assert sum(int(m.group(1)) for m in failures) == len(failed) > 0
    for log in workdir.glob(f"logs/score/example/{JUDGE}/shard-*.comparisons.log"):
        assert "Traceback" not in log.read_text(), log.read_text()[-3000:]

    # ------------------------------------------------------------------ 3. the server heals: a plain rerun sends only those
    server.storm, n = 0.0, len(server.arrivals)
    proc = run(retry_once)
    assert proc.returncode == 0, proc.out[-4000:]
    resent = sent(server, n)
    assert sorted(resent) == sorted(failed)  # exactly the failed requests, once each
    comparisons = pd.read_parquet(workdir / TARGET)
    assert len(comparisons) == len(server.answered) and (comparisons["verdict"] == "A").all()
    assert set(server.answered.values()) == {1}  # 0 lost, 0 answered twice over the three runs
    print(f"\nfault campaign under Snakemake: {len(comparisons)} comparisons, {len(server.arrivals)} requests "
          f"({storm_sends} in the interrupted storm, {storm_faults} faults there; {server.faults} faults in all), "
          f"signal after {len(before)} sends, {len(after)} arrivals after it {after}; {len(failed)} failed after every "
          "retry and were resent alone")

    # ------------------------------------------------------------------ 4. a dead endpoint: a few refused connects, one line
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
    connects = tmp_path / "connects.log"
    with socket.socket() as closed:  # bound, never listening: every connect is refused, and no server can take the port
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        dead = f"http://127.0.0.1:{port}/v1"
        start = time.time()
        proc = run(command(project_root, workdir, dead, "backend.max_retries=6"),
                   {"PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")]),
                    "RMEVAL_TEST_CONNECT_LOG": str(connects)})
        elapsed = time.time() - start
    # each job's one line, on the console too (3 or, from threads refused at the same moment, a few more times)
    line = re.compile(rf"error: backend gpt4o: {re.escape(dead)} refused or could not be reached [3-9] times in a row "
                      r"and never answered \([^)]*Connection refused\); start the server or fix base_url")
    assert proc.returncode != 0 and len(line.findall(proc.out)) == 2, proc.out[-4000:]
    for log in workdir.glob(f"logs/score/example/{JUDGE}/shard-*.comparisons.log"):
        assert line.match(log.read_text().splitlines()[-1]) and "Traceback" not in log.read_text()
    refused = [entry for entry in connects.read_text().splitlines() if entry.split()[1] == str(port)]
    assert all(entry.endswith("ConnectionRefusedError") for entry in refused), refused
    # before: every one of the 40 requests tried 1 + max_retries times (280 connects); now a few per job
    assert 6 <= len(refused) <= 2 * (3 + 4), refused
    print(f"dead endpoint: {len(refused)} refused connects over 2 jobs, {elapsed:.1f} s for the whole snakemake run")


def test_a_signal_while_the_connection_opens_sends_nothing(monkeypatch):
    """What the campaign above found: the stop flag was checked only by the request hook, before the connection
    opens; a thread that passed it, then gave up the interpreter in connect() while the signal was handled, sent
    its request 5 ms after Ctrl-C. The flag is now checked again right before the first byte is written."""
    import logging
    import threading

    from rmeval.llm import ChatRequest
    from rmeval.llm.openai_compat import OpenAICompatBackend

    stopping, tripped, real_connect = threading.Event(), [], socket.socket.connect

    def connect(sock, address):  # Ctrl-C lands while a pool thread opens its connection
        if threading.current_thread() is not threading.main_thread() and not tripped:
            tripped.append(address)
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            assert stopping.wait(10)  # the main thread took the KeyboardInterrupt and set the stop flag
        return real_connect(sock, address)

    class Stopping(logging.Handler):
        def emit(self, record):
            if "stopping after KeyboardInterrupt" in record.getMessage():
                stopping.set()

    server, handler = FaultServer(), Stopping()
    monkeypatch.setattr(socket.socket, "connect", connect)
    logging.getLogger("rmeval").addHandler(handler)
    try:
        client = OpenAICompatBackend(model="judge-x", base_url=server.url, api_key_env=None, concurrency=1)
        with pytest.raises(KeyboardInterrupt):
            client.generate([ChatRequest(key="t", messages=[{"role": "user", "content": "tripwire"}], max_tokens=8)],
                            progress=False)
        assert tripped and server.arrivals == []
    finally:
        logging.getLogger("rmeval").removeHandler(handler)
        server.close()


def test_the_stop_flag_is_set_as_the_signal_lands_not_when_python_handles_it():
    """The campaign's remaining late send (1 request 5.6 ms after Ctrl-C in 1 of 13 runs): a pool thread checked the
    flag after the signal landed but before the main thread ran Python's handler, which stops the run. The flag
    now reads the wakeup socket the C-level handler writes to at once; here Python's handler stops nothing, and
    the flag is set all the same. Other signals leave it alone, and so does a wakeup socket someone else set."""
    from rmeval.llm.openai_compat import _StopFlag

    handled = []
    previous = {s: signal.signal(s, lambda signum, frame: handled.append(signum)) for s in (signal.SIGINT, signal.SIGUSR1)}
    theirs_r, theirs_w = socket.socketpair()
    theirs_w.setblocking(False)
    try:
        stop = _StopFlag()
        stop.watch_signals()
        signal.raise_signal(signal.SIGUSR1)
        assert handled == [signal.SIGUSR1] and not stop.is_set()
        signal.raise_signal(signal.SIGINT)
        assert handled == [signal.SIGUSR1, signal.SIGINT] and stop.is_set()
        stop.unwatch_signals()
        assert signal.set_wakeup_fd(theirs_w.fileno()) == -1  # given back
        other = _StopFlag()
        other.watch_signals()
        assert signal.set_wakeup_fd(theirs_w.fileno()) == theirs_w.fileno()  # theirs kept
        other.unwatch_signals()
    finally:
        signal.set_wakeup_fd(-1)
        for s, handler in previous.items():
            signal.signal(s, handler)
        theirs_r.close()
        theirs_w.close()
