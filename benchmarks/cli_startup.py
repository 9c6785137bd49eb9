"""How long ``improved-gan`` takes to answer when it does no work: help, a refused flag, ``runs`` of no runs.

Each case runs the installed command (``improved-gan`` beside this Python, else ``python -m improved_gan``)
``--runs`` times in a fresh process, the cases interleaved (so that other processes on a shared machine slow
every case alike), and gives the median and range of the wall time and of the CPU time (user + sys) the
process used, with the load average before and after. On a loaded machine the CPU time is the figure to read:
the wall time also counts the waits for a core. ``import torch`` is timed the same way, for scale.

    python benchmarks/cli_startup.py --runs 5
    PYTHONPATH=/tmp/old/src python benchmarks/cli_startup.py   # another checkout's code (its src/)

docs/cli.md ("Start-up") holds the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = {
    "--help": ["--help"],
    "runs EMPTY": ["runs", "{empty}"],
    "runs --nonsense": ["runs", "--nonsense"],
    "train mnist-fm --bogus": ["train", "mnist-fm", "--bogus"],
    "train mnist-fm --epochs -1": ["train", "mnist-fm", "--epochs", "-1"],
    "train mnist-fn (misspelt)": ["train", "mnist-fn"],
    "sample RUN (no --out)": ["sample", "{empty}/run"],
    "sample RUN --n 0": ["sample", "{empty}/run", "--out", "{empty}/s.png", "--n", "0"],
    "demo --seed -1": ["demo", "--seed", "-1"],
    "eval MISSING": ["eval", "{empty}/missing"],
    "resume MISSING": ["resume", "{empty}/missing"],
    "report MISSING": ["report", "{empty}/missing"],
    "score mnist:test --splits 0": ["score", "mnist:test", "--splits", "0"],
    "reproduce table1 --labels -5": ["reproduce", "table1", "--labels", "-5", "--out", "{empty}/t"],
    "classifier train --epochs 0": ["classifier", "train", "--epochs", "0"],
    "turing invite STUDY --n 0": ["turing", "invite", "{empty}/study", "--n", "0"],
    "train --help": ["train", "--help"],
    "sample MISSING --out s.png": ["sample", "{empty}/missing", "--out", "{empty}/s.png"],
    "sample RUN --seed -1": ["sample", "{empty}/run", "--out", "{empty}/s.png", "--seed", "-1"],
    "score mnist:test --n 0": ["score", "mnist:test", "--n", "0"],
    "score mnist:test --metrics fdi": ["score", "mnist:test", "--metrics", "fdi"],
    "classifier train --train-images 5": ["classifier", "train", "--train-images", "5"],
}
"""Each case's arguments; ``{empty}`` is a folder that holds no run (nothing is written into it)."""

REFERENCE = ("import torch", ["-c", "import torch"])


def command() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m improved_gan``."""
    script = Path(sys.executable).with_name("improved-gan")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "improved_gan"]


def run_once(argv: list[str]) -> tuple[float, float, int]:
    """(wall seconds, user + sys CPU seconds, exit status) of one process running ``argv``."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, process.returncode


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def measure(runs: int) -> dict:
    base = command()
    with tempfile.TemporaryDirectory() as empty:
        cases = {name: base + [arg.replace("{empty}", empty) for arg in args] for name, args in CASES.items()}
        cases[REFERENCE[0]] = [sys.executable, *REFERENCE[1]]
        times: dict[str, list[tuple[float, float, int]]] = {name: [] for name in cases}
        load_before = os.getloadavg()
        for _ in range(runs):
            for name, argv in cases.items():
                times[name].append(run_once(argv))
        load_after = os.getloadavg()
        if any(Path(empty).iterdir()):
            raise SystemExit(f"a case wrote into {empty}: {sorted(p.name for p in Path(empty).iterdir())}")
    import torch  # after the timings: which CPU kernels this machine's torch selects

    return {
        "command": " ".join(base),
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "runs": runs,
        "load_average_1min": [round(load_before[0], 2), round(load_after[0], 2)],
        "cases": {
            name: {"argv": cases[name][len(base):] if name != REFERENCE[0] else REFERENCE[1],
                   "exit": sorted({status for _, _, status in rows}),
                   "wall_s": spread([wall for wall, _, _ in rows]),
                   "cpu_s": spread([cpu for _, cpu, _ in rows])}
            for name, rows in times.items()
        },
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def table(result: dict) -> str:
    """The figures as a Markdown table (seconds: median, min-max)."""
    lines = ["| case | exit | wall s, median (range) | CPU s user+sys, median (range) |", "|---|---|---|---|"]
    for name, case in result["cases"].items():
        wall, cpu = case["wall_s"], case["cpu_s"]
        lines.append(f"| `{name}` | {','.join(map(str, case['exit']))} | {wall['median']:.2f} "
                     f"({wall['min']:.2f}-{wall['max']:.2f}) | {cpu['median']:.2f} ({cpu['min']:.2f}-{cpu['max']:.2f}) |")
    load = result["load_average_1min"]
    lines.append("")
    lines.append(f"{result['runs']} runs of each, interleaved; `{result['command']}`; {result['cpu']}, "
                 f"{result['cores']} cores, torch CPU capability {result['cpu_capability']}, Python "
                 f"{result['python']}, torch {result['torch']}; 1-minute load average {load[0]} before, {load[1]} after")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="processes per case (default 5)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs must be at least 1 (got {args.runs})")
    result = measure(args.runs)
    print(json.dumps(result, indent=2) if args.json else table(result))


if __name__ == "__main__":
    main()
