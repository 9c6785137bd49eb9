"""A markdown table of test errors per epoch for runs of ``fast_step_accuracy.py``.

Groups run folders named ``STEP-PRECISION-sSEED`` (as the accuracy check names
them) by arm, and prints the EMA discriminator's test errors at the chosen
epochs, each arm's mean and standard deviation over its seeds, and the median
seconds per epoch (the trainer's own timing, without evaluation).

    python benchmarks/speed_accuracy_table.py runs/speed/*-s[0-9] --epochs 5 10 15 20
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

NAME = re.compile(r"^(?P<arm>.+)-s(?P<seed>\d+)$")


def read_metrics(run: Path) -> dict[int, dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return {row["epoch"]: row for row in rows}


def table(runs: list[Path], epochs: list[int]) -> str:
    arms: dict[str, dict[int, dict[int, dict]]] = defaultdict(dict)
    for run in runs:
        match = NAME.match(run.name)
        if match is None or not (run / "metrics.jsonl").is_file():
            continue
        arms[match["arm"]][int(match["seed"])] = read_metrics(run)
    lines = [
        "| arm | seed | " + " | ".join(f"epoch {e}" for e in epochs) + " | s/epoch |",
        "| --- | ---: | " + " | ".join("---:" for _ in epochs) + " | ---: |",
    ]
    for arm, seeds in sorted(arms.items()):
        for seed, metrics in sorted(seeds.items()):
            cells = [str(metrics[e]["test_errors"]) if e in metrics else "" for e in epochs]
            seconds = statistics.median(row["seconds"] for row in metrics.values())
            lines.append(f"| {arm} | {seed} | " + " | ".join(cells) + f" | {seconds:.1f} |")
        summary = []
        for e in epochs:
            values = [m[e]["test_errors"] for m in seeds.values() if e in m]
            if len(values) == len(seeds) and len(values) > 1:
                summary.append(f"{statistics.mean(values):.0f} +- {statistics.stdev(values):.0f}")
            else:
                summary.append("")
        lines.append(f"| {arm} | mean +- sd | " + " | ".join(summary) + " | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--epochs", type=int, nargs="+", default=[5, 10, 15, 20])
    args = parser.parse_args(argv)
    print(table(args.runs, args.epochs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
