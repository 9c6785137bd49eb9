"""A stacked run writes what single runs write: one ordinary run folder per seed.

:func:`train_stack` trains S seeds of one config with the
:class:`~improved_gan.training.stacked.engine.StackedEngine` and, after every
epoch, writes into each seed's run folder what the single run of that seed
would: its checkpoint (:meth:`StackedEngine.copy_state`), its metrics rows, its
sample grid (from the copy's generator and the seed's grid z), its log line and,
at the end, its report. ``improved-gan eval/sample/score/report`` treat the
folders like any run. The copies record ``step_info = {"step": "stacked"}``, so
resuming one of them alone with a single-run step is refused unless asked for.

The stack's own state (the shared noise stream, every copy's z and batch-order
streams, the stacked optimiser moments) lives in ``STACK_DIR/stack.pt``, written
after the copies' files, so a crash between the two repeats one epoch, exactly:
a resumed stack continues bit for bit (tested).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import torch
from tqdm.auto import tqdm

from improved_gan.config import TrainConfig, save_config
from improved_gan.errors import UserError
from improved_gan.runs.guard import check_run_links
from improved_gan.runs.layout import CONFIG, close_log, open_log
from improved_gan.runs.report import write_report
from improved_gan.training.epoch_writer import EpochWriter, write_sample_grid
from improved_gan.training.seeds import stream_generator
from improved_gan.training.stacked.engine import STEP_KIND, StackedEngine, copy_configs
from improved_gan.training.trainer import config_conflict, learning_rate, prepare_run_dir
from improved_gan.utils.atomic import atomic_torch_save, atomic_write_text
from improved_gan.utils.eval_mode import eval_mode

__all__ = ["STACK_STATE", "train_stack"]

STACK_STATE = "stack.pt"
STACK_MEMBERS = "stack.json"


def train_stack(
    config: TrainConfig,
    seeds: Sequence[int],
    run_dirs: Sequence[str | Path],
    *,
    stack_dir: str | Path,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> list[Path]:
    """Train ``config`` for each of ``seeds`` as one stack to ``config.epochs``, one run folder per seed.

    Starts the stack, or continues it from ``stack_dir/stack.pt``. Returns the run folders.
    A ``stack_dir`` holding another stack (other seeds or folders) is refused.
    """
    run_dirs = [Path(d) for d in run_dirs]
    if len(run_dirs) != len(seeds):
        raise ValueError(f"expected one run folder per seed (got {len(run_dirs)} for {len(seeds)} seeds)")
    stack_dir = Path(stack_dir)
    engine = StackedEngine.build(config, seeds, device=device)  # support and memory checked first
    _start_or_continue(engine, config, run_dirs, stack_dir)
    grid_z = [
        engine.unstack(s)[0].sample_latent(config.sample_grid, generator=stream_generator(seed, "sample-grid"))
        for s, seed in enumerate(engine.seeds)
    ]
    logs = [open_log(run_dir) for run_dir in run_dirs]
    try:
        writers = [EpochWriter(run_dir, config, log, checkpoint_every=1) for run_dir, log in zip(run_dirs, logs)]
        for log in logs:
            log.info(f"stacked with seeds {engine.seeds} ({engine.device}, fp32); stack state in {stack_dir}")
        bar = tqdm(range(engine.epoch, config.epochs), desc=f"stack of {engine.size}", initial=engine.epoch,
                   total=config.epochs, disable=not progress, dynamic_ncols=True)  # fmt: skip
        for epoch in bar:
            rows = engine.run_epoch(learning_rate(config, epoch))
            for s, (row, writer) in enumerate(zip(rows, writers)):
                row.update({"step": STEP_KIND, "precision": "fp32"})
                _write_copy(engine, s, writer, grid_z[s], config.pixel_scale)
            atomic_torch_save(engine.state_dict(), stack_dir / STACK_STATE)  # after the copies' files
            errors = [row.get("test_errors") for row in rows]
            tqdm.write(f"epoch {engine.epoch}: test errors {errors}") if progress else None
        bar.close()
    finally:
        for log in logs:
            close_log(log)
    for run_dir in run_dirs:
        write_report(run_dir)
    return run_dirs


def _start_or_continue(engine: StackedEngine, config: TrainConfig, run_dirs: list[Path], stack_dir: Path) -> None:
    """Continue the stack in ``stack_dir`` (its members must be these seeds and folders, every folder a run of its
    copy's config with no link in it, all checked before any ``config.json`` is rewritten), or start it: each
    copy's run folder prepared as a single run's, and the stack's members recorded."""
    members = {"seeds": [int(s) for s in engine.seeds], "runs": [str(d) for d in run_dirs]}
    copies = list(zip(copy_configs(config, engine.seeds), run_dirs))
    if not (stack_dir / STACK_STATE).is_file():
        for copy_config, run_dir in copies:
            prepare_run_dir(copy_config, run_dir)
        stack_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(stack_dir / STACK_MEMBERS, json.dumps(members, indent=2) + "\n")
        return
    recorded = json.loads((stack_dir / STACK_MEMBERS).read_text())
    if recorded != members:
        raise UserError(f"{stack_dir} holds another stack ({recorded}); choose another folder")
    engine.load_state_dict(torch.load(stack_dir / STACK_STATE, map_location=engine.device, weights_only=False))
    for copy_config, run_dir in copies:
        conflict = config_conflict(run_dir, copy_config)
        if conflict:
            raise UserError(conflict)
        check_run_links(run_dir)
    for copy_config, run_dir in copies:  # every folder checked first
        save_config(copy_config, run_dir / CONFIG)  # the epochs asked for now


@torch.no_grad()
def _write_copy(engine: StackedEngine, index: int, writer: EpochWriter, grid_z: torch.Tensor, pixel_scale: str) -> None:
    """Copy ``index``'s end of epoch into its run folder as its single run writes it (training/epoch_writer.py):
    the sample grid, the checkpoint, ``metrics.jsonl``, the log line."""
    row = engine.histories[index][-1]
    generator = engine.unstack(index)[0]
    with eval_mode(generator):
        write_sample_grid(writer.run_dir, engine.epoch, generator(grid_z).float(), pixel_scale)
    writer.record(engine.epoch, engine.histories[index], lambda: engine.copy_state(index),
                  f"epoch {row['epoch']}: test errors {row.get('test_errors', '-')}, loss_d {row['loss_d']:.4f}, "
                  f"loss_g {row['loss_g']:.4f}, {row['seconds']:.1f}s (stack)")
