#!/usr/bin/env python
"""How fast the DAG builds as the RM zoo grows: ``snakemake -n`` and a no-op run, with and without 300 extra RM YAMLs.

    python benchmarks/dag_speed.py                    # 300 extra YAMLs; targets: no-op <= 3 s, -n <= 4 s
    python benchmarks/dag_speed.py --extra 0,100,300 --repeats 3

The project's files (tracked, and untracked ones git does not ignore) are copied to a temp dir (the checkout is
never touched) and the copy's ``src/`` is what Snakemake imports. The extra YAMLs are copies of
``conf/rm/length.yaml`` (pointwise) and, every tenth, of ``conf/rm/gpt4o-judge.yaml`` (pairwise) under new names;
they are in ``conf/rm/`` but in no RM list, which is how a growing zoo looks to the Snakefile.

Timed, whole process, best of ``--repeats``:
- ``snakemake -n`` of the default experiment (the RMB release at ``$RMB_ROOT``; the smoke experiment when unset);
- a no-op ``snakemake --cores 2`` on a finished run: the smoke experiment is first run to completion in the copy
  (about a minute), then run again with nothing to do. Jobs that new YAMLs make out of date are rerun (untimed,
  and counted in the output) before the no-op is timed.
Also printed: the import time of ``rmeval.config`` (what the Snakefile imports), the time to compose the config
once, to compose one RM's config through Hydra, and to read one listed RM's node from its YAML (``rm_node``: what the
Snakefile does per listed RM unless an override touches ``rm.*``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ["--config", "overrides=[experiment=smoke]"]


def copy_project(dest: Path) -> None:
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def add_rm_yamls(project: Path, n: int) -> None:
    rm_dir = project / "conf" / "rm"
    for old in rm_dir.glob("zoo-*.yaml"):
        old.unlink()
    pointwise = (rm_dir / "length.yaml").read_text()
    pairwise = (rm_dir / "gpt4o-judge.yaml").read_text()
    for i in range(n):
        name = f"zoo-{i:03d}"
        template, old_name = (pairwise, "gpt4o-judge") if i % 10 == 9 else (pointwise, "length")
        text = template.replace(f"name: {old_name}\n", f"name: {name}\n")
        if f"name: {name}\n" not in text:
            raise SystemExit(f"error: conf/rm/{old_name}.yaml has no 'name: {old_name}' line to rename")
        (rm_dir / f"{name}.yaml").write_text(text)


def env_for(project: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "RMEVAL_CONF_DIR"}  # the copy's conf/, not the checkout's
    env["PYTHONPATH"] = os.pathsep.join([str(project / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def timed(cmd: list[str], project: Path, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=project, env=env_for(project), capture_output=True, text=True)
        best = min(best, time.perf_counter() - t0)
        if proc.returncode:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-12:])
            raise SystemExit(f"error: {' '.join(cmd[2:])} failed (exit {proc.returncode}) in {project}:\n{tail}")
    return best


def settle(project: Path, snakemake: list[str]) -> int:
    """Run whatever the new YAMLs made out of date (untimed); the number of jobs that ran (0: already a no-op)."""
    proc = subprocess.run([*snakemake, "--cores", "2", *SMOKE], cwd=project, env=env_for(project), capture_output=True,
                          text=True)
    if proc.returncode:
        raise SystemExit(f"error: settling run failed in {project}:\n" + (proc.stdout + proc.stderr)[-2000:])
    done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", proc.stdout + proc.stderr)
    return int(done[-1][1]) if done else 0


def python_side(project: Path, repeats: int) -> dict:
    code = (
        "import time; t = time.perf_counter(); import rmeval.config as c; t1 = time.perf_counter();"
        "cfg = c.compose([]); t2 = time.perf_counter(); c.compose_rm('length'); t3 = time.perf_counter();"
        "c.rm_node(cfg, 'random'); t4 = time.perf_counter(); print(t1 - t, t2 - t1, t3 - t2, t4 - t3)"
    )
    best = None
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], cwd=project, env=env_for(project), capture_output=True,
                             text=True, check=True).stdout.split()
        vals = [float(x) for x in out]
        best = vals if best is None else [min(a, b) for a, b in zip(best, vals)]
    return {"import_config": best[0], "compose": best[1], "compose_rm": best[2], "rm_node": best[3]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--extra", default="0,300", help="extra RM YAMLs to add, a comma list of counts")
    parser.add_argument("--repeats", type=int, default=2, help="best of this many runs per timing")
    parser.add_argument("--no-noop", action="store_true", help="skip the finished smoke run and the no-op timing")
    parser.add_argument("--keep", type=Path, default=None, help="build the copy here and keep it (default: a temp dir)")
    args = parser.parse_args()
    snakemake = [sys.executable, "-m", "snakemake"]
    rmb = os.environ.get("RMB_ROOT")
    dry_extra = [] if rmb and Path(rmb).is_dir() else SMOKE
    dry_what = f"default experiment (RMB at {rmb})" if not dry_extra else "smoke experiment (RMB_ROOT unset)"
    with tempfile.TemporaryDirectory() as tmp:
        project = (args.keep or Path(tmp)).resolve()
        project.mkdir(parents=True, exist_ok=True)
        copy_project(project)
        print(f"project copied to {project}; snakemake -n on the {dry_what}; no-op on a finished smoke run")
        if not args.no_noop:
            t0 = time.perf_counter()
            timed([*snakemake, "--cores", "2", *SMOKE], project, 1)
            print(f"finished smoke run built in {time.perf_counter() - t0:.1f} s")
        py = python_side(project, args.repeats)
        print(f"python side: import rmeval.config {py['import_config'] * 1e3:.0f} ms; compose the config "
              f"{py['compose'] * 1e3:.0f} ms; compose one RM {py['compose_rm'] * 1e3:.0f} ms; read one listed RM's YAML "
              f"(what the Snakefile does) {py['rm_node'] * 1e3:.0f} ms")
        print(f"{'extra RM YAMLs':>15}{'snakemake -n s':>16}{'no-op run s':>13}")
        rows = []
        for n in (int(x) for x in args.extra.split(",")):
            add_rm_yamls(project, n)
            dry = timed([*snakemake, "-n", "--cores", "2", *dry_extra], project, args.repeats)
            reran = 0 if args.no_noop else settle(project, snakemake)
            noop = float("nan") if args.no_noop else timed([*snakemake, "--cores", "2", *SMOKE], project, args.repeats)
            rows.append((n, dry, noop))
            note = f"   (adding them made {reran} jobs out of date; rerun untimed first)" if reran else ""
            print(f"{n:>15}{dry:>16.2f}{noop:>13.2f}{note}")
        n, dry, noop = rows[-1]
        print(f"targets with {n} extra RM YAMLs: snakemake -n <= 4 s: {'met' if dry <= 4 else 'MISSED'} ({dry:.2f} s); "
              f"no-op <= 3 s: {'met' if noop <= 3 else ('skipped' if args.no_noop else 'MISSED')} ({noop:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
