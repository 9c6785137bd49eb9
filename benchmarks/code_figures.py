"""Figures of the code's shape: how much of it checks input, how long its functions are, how far a run is from its
first optimiser step.

Static figures (``ast`` and ``tokenize`` over ``src/improved_gan``):

- ``src_lines``: lines of the package's Python files;
- ``check_share``: per part (``cli/``, ``training/`` outside ``steps/`` and ``stacked/``, ``runs/``), the share of
  code lines (not blank, comment or docstring) that are input checks. A line is a check when it lies in
  an ``if ...:`` whose body ends in a ``raise`` (the test and the body; not the ``else``), in an ``except`` handler
  that raises, in a ``raise`` statement, or in a function whose job is to check (its name begins with ``check``,
  ``refuse``, ``validate`` or ``reject``, or ends with ``_problem`` / ``_problems``; leading underscores aside);
- ``long_functions``: functions (methods and nested functions too) over 60 lines;
- ``local_imports``: ``import`` statements inside a function.

Dynamic figures (``--calls``): ``improved-gan train mnist-fm --dataset mnist5k --epochs 1`` run in this process
under :func:`sys.setprofile`, into a temporary folder, stopped at the first call of an optimiser's ``step``:

- ``calls_to_first_step``: calls of functions defined in the package (each Python frame whose code lies under
  ``src/improved_gan``, comprehensions and generators included) before that step;
- ``dataset_loads``: calls of ``data.registry.load_dataset`` (one per split read) before it;
- ``model_builds``: calls of ``training.build.build_models`` before it.

Run: ``python benchmarks/code_figures.py [--calls] [--json]``. Needs no data folder (mnist5k ships with the package).
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import re
import sys
import tempfile
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "improved_gan"
LONG = 60
CHECK_NAME = re.compile(r"^_*(check|refuse|validate|reject)|_problems?$")
PARTS = {
    "cli/": lambda rel: rel.parts[0] == "cli",
    "training/ (outside steps/, stacked/)": lambda rel: rel.parts[0] == "training"
    and not (len(rel.parts) > 2 and rel.parts[1] in ("steps", "stacked")),
    "runs/": lambda rel: rel.parts[0] == "runs",
}


# -- static figures ---------------------------------------------------------------------------------------------


def package_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def code_lines(source: str, tree: ast.AST) -> set[int]:
    """Line numbers holding code: a token other than a comment or a newline, docstrings left out."""
    lines: set[int] = set()
    skip = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skip:
            lines.update(range(token.start[0], token.end[0] + 1))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(
                first.value.value, str
            ):
                lines.difference_update(range(first.lineno, first.end_lineno + 1))
    return lines


def _span(node: ast.AST) -> range:
    return range(node.lineno, node.end_lineno + 1)


def check_lines(tree: ast.AST) -> set[int]:
    """Line numbers that are input checks (module docstring)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and CHECK_NAME.search(node.name):
            lines.update(_span(node))
        elif isinstance(node, ast.If) and node.body and isinstance(node.body[-1], ast.Raise):
            lines.update(range(node.lineno, node.body[-1].end_lineno + 1))
        elif isinstance(node, ast.ExceptHandler) and any(isinstance(n, ast.Raise) for n in ast.walk(node)):
            lines.update(_span(node))
        elif isinstance(node, ast.Raise):
            lines.update(_span(node))
    return lines


def _functions_with_parents(tree: ast.AST):
    stack = [(tree, None)]
    while stack:
        node, function = stack.pop()
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            yield child, function
            stack.append((child, inner))


def static_figures() -> dict:
    total_lines = 0
    long_functions: list[str] = []
    local_imports = 0
    shares = {part: [0, 0] for part in PARTS}  # check lines, code lines
    for path in package_files():
        source = path.read_text()
        tree = ast.parse(source)
        rel = path.relative_to(PACKAGE)
        total_lines += len(source.splitlines())
        for node, function in _functions_with_parents(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > LONG:
                long_functions.append(f"{rel}:{node.name} ({node.end_lineno - node.lineno + 1})")
            if isinstance(node, (ast.Import, ast.ImportFrom)) and function is not None:
                local_imports += 1
        code = code_lines(source, tree)
        checks = check_lines(tree) & code
        for part, belongs in PARTS.items():
            if belongs(rel):
                shares[part][0] += len(checks)
                shares[part][1] += len(code)
    return {
        "src_lines": total_lines,
        "check_share": {part: {"check_lines": c, "code_lines": n, "share": round(c / n, 3) if n else None}
                        for part, (c, n) in shares.items()},
        "long_functions": len(long_functions),
        "long_function_names": long_functions,
        "local_imports": local_imports,
    }


# -- calls to the first optimiser step ----------------------------------------------------------------------------


class _Reached(Exception):
    """Raised by the profiler at the first optimiser step, to stop the run there."""


def call_figures() -> dict:
    import torch

    from improved_gan.cli.main import main

    package = str(PACKAGE)
    counts = {"calls_to_first_step": 0, "dataset_loads": 0, "model_builds": 0}
    reached = []

    def profile(frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        if code.co_name == "step" and isinstance(frame.f_locals.get("self"), torch.optim.Optimizer):
            reached.append(code.co_filename)
            sys.setprofile(None)
            raise _Reached
        if code.co_filename.startswith(package):
            counts["calls_to_first_step"] += 1
            if code.co_name == "load_dataset" and code.co_filename.endswith("registry.py"):
                counts["dataset_loads"] += 1
            elif code.co_name == "build_models" and code.co_filename.endswith("build.py"):
                counts["model_builds"] += 1

    with tempfile.TemporaryDirectory() as tmp:
        argv = ["train", "mnist-fm", "--dataset", "mnist5k", "--epochs", "1", "--no-progress",
                "--out", str(Path(tmp) / "run")]
        sys.setprofile(profile)
        try:
            main(argv)
        except _Reached:
            pass
        finally:
            sys.setprofile(None)
    if not reached:
        raise SystemExit("the run ended without an optimiser step")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", action="store_true", help="also run train to its first optimiser step")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    figures = static_figures()
    if args.calls:
        figures.update(call_figures())
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"src Python lines:                 {figures['src_lines']:,}")
    for part, share in figures["check_share"].items():
        if share["code_lines"]:
            print(f"input checks in {part + ':':38s}{100 * share['share']:.1f}% "
                  f"({share['check_lines']} of {share['code_lines']} code lines)")
    print(f"functions over {LONG} lines:          {figures['long_functions']}")
    for name in figures["long_function_names"]:
        print(f"    {name}")
    print(f"function-local imports:           {figures['local_imports']}")
    if args.calls:
        print(f"package calls to the first step:  {figures['calls_to_first_step']:,}")
        print(f"dataset loads / model builds:     {figures['dataset_loads']} / {figures['model_builds']}")


if __name__ == "__main__":
    main()
