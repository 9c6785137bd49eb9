"""What may be written or removed: a run folder is ours only when it looks like one.

Nothing a user made is deleted or overwritten. Before ``improved-gan train``
writes into ``--out`` or removes it (``--overwrite``), these checks decide:

- :func:`run_folder_problem` says why a folder is *not* recognisably one of
  our runs (no ``config.json`` that parses as a TrainConfig, or anything at its
  top level that a run does not write, :data:`~improved_gan.runs.layout.RUN_FILES`
  and ``RUN_FOLDERS``), or ``None`` when it is one;
- :func:`check_removable` refuses ``/``, the home folder, the working
  directory and its parents whatever they hold, then any folder that is not a run;
- :func:`check_new_run_folder` refuses ``--out`` naming a file, a non-empty
  folder that is not a run, and a run that has a checkpoint (resume it) or
  another configuration; an unfinished start of the same configuration (no
  epoch finished) may be started again;
- :func:`check_resumable` refuses to resume what is not a run, lies inside one, holds a link or a path of
  the wrong kind where the run writes, or is being trained now;
- :func:`check_run_links` refuses a run folder in which a path the run writes is a symbolic link, wherever it
  leads: no file is written through a link (train, resume, report and score ask it first);
- :func:`running_pid` / :class:`RunningMark`: ``running.pid``, locked (``fcntl.flock``) while a process
  trains the run, so that nothing removes or resumes a run that is training (:func:`check_not_being_trained`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

from improved_gan.config import WHERE_NOT_WHAT, TrainConfig, load_config
from improved_gan.errors import UserError
from improved_gan.runs.out_paths import check_folder_path, check_writable
from improved_gan.runs.process_lock import ProcessLock, lock_holder
from improved_gan.runs.layout import (
    CHECKPOINTS,
    CONFIG,
    LAST_CHECKPOINT,
    PREVIOUS_CHECKPOINT,
    RUNNING,
    RUN_FILES,
    RUN_FOLDERS,
    SAMPLES,
    SCORES,
    TENSORBOARD,
    WRITTEN_IN_PLACE,
    checkpoint_identity,
    is_our_temporary,
    latest_checkpoint,
    remove_leftover_temporaries,
)

def _ours_inside(folder_name: str, name: str) -> bool:
    """Whether a file ``name`` in the run's sub-folder ``folder_name`` is one the trainer writes (or the temporary
    file of one that a crash left)."""
    if is_our_temporary(folder_name, name):
        return True
    if folder_name == CHECKPOINTS:
        return name in (LAST_CHECKPOINT, PREVIOUS_CHECKPOINT)
    if folder_name == SAMPLES:
        return re.fullmatch(r"epoch-\d{4,}\.png", name) is not None
    return name.startswith("events.out.tfevents.")  # TensorBoard's event files


def _foreign_inside(folder: Path) -> list[str]:
    """What in a run's sub-folder (at any depth) the trainer does not write."""
    foreign = []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or (path.is_file() and not _ours_inside(folder.name, path.name)):
            foreign.append(str(path.relative_to(folder)))
        elif path.is_dir() and folder.name != TENSORBOARD:  # TensorBoard may nest runs; the others are flat
            foreign.append(str(path.relative_to(folder)) + "/")
    return foreign


def run_folder_problem(folder: Path) -> str | None:
    """Why ``folder`` is not recognisably one of our run folders, or ``None`` when it is."""
    config = folder / CONFIG
    if not config.is_file():
        return f"it has no {CONFIG}"
    try:
        load_config(config)
    except UserError as err:
        return f"its {CONFIG} is not a run's config ({err})"
    foreign = []
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink():
            foreign.append(entry.name)
        elif entry.is_dir():
            if entry.name not in RUN_FOLDERS:
                foreign.append(entry.name + "/")
            else:
                foreign += [f"{entry.name}/{name}" for name in _foreign_inside(entry)]
        elif entry.name not in RUN_FILES and not is_our_temporary("", entry.name):
            foreign.append(entry.name)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        return f"it holds files a run does not write ({shown})"
    return None


def _protected(folder: Path) -> str | None:
    """Why ``folder`` may never be removed, whatever it holds."""
    resolved = folder.resolve()
    cwd = Path.cwd().resolve()
    if resolved == Path(resolved.anchor):
        return "it is the root of the file system"
    if resolved == Path.home().resolve():
        return "it is your home folder"
    if resolved == cwd:
        return "it is the current directory"
    if resolved in cwd.parents:
        return "it holds the current directory"
    return None


def check_removable(folder: Path) -> None:
    """Raise UserError unless ``folder`` is one of our runs that may be deleted (module docstring)."""
    reason = _protected(folder)
    if reason is None and folder.is_symlink():
        reason = "it is a symbolic link"
    if reason is None and not folder.is_dir():
        reason = "it is not a folder"
    if reason is None:
        reason = run_folder_problem(folder)
    if reason is None and (pid := running_pid(folder)) is not None:
        reason = f"process {pid} is training it now"
    if reason is not None:
        raise UserError(f"--overwrite refused: {folder} is not a run folder that may be deleted: {reason}. "
                        "Nothing was removed; choose another --out")


def config_differences(old: TrainConfig, new: TrainConfig, *, ignore=WHERE_NOT_WHAT) -> list[str]:
    """``["lr=0.003 (now 0.001)", ...]`` for the fields that differ, ``ignore`` aside."""
    before, after = old.to_dict(), new.to_dict()
    return [f"{key}={before[key]!r} (now {after[key]!r})" for key in sorted(after)
            if key not in ignore and before.get(key) != after[key]]  # fmt: skip


def enclosing_run(path: Path) -> Path | None:
    """The run folder that ``path`` lies inside (a folder above it holding a run's config.json), or None.

    Both the path as written and the path its links lead to are asked: ``LINK/out``, with ``LINK`` a link to
    ``RUN/samples``, lies inside ``RUN`` (a write there lands in the run)."""
    written, resolved = Path(os.path.abspath(path)), Path(os.path.realpath(path))
    parents = [*written.parents, *(p for p in resolved.parents if p not in written.parents)]
    for parent in parents:
        if (parent / CONFIG).is_file():
            try:
                load_config(parent / CONFIG)
            except (UserError, OSError):
                continue  # a config.json of another kind: not a run
            return parent
    return None


def check_outside_runs(
    path: Path, *, flag: str = "--out", instead: str = "choose a path outside it", itself: bool = True
) -> None:
    """Raise UserError when ``path`` lies inside a run folder (or, with ``itself``, is one): a run folder holds
    only what its trainer writes (a resume would write over the rest, and ``--overwrite`` would refuse to
    remove the run)."""
    run = enclosing_run(Path(path) / "_" if itself else path)
    if run is not None:
        raise UserError(f"{flag} {path} is or lies inside the run folder {run}, which holds only what its trainer "
                        f"writes; {instead} (nothing was written)")


def check_scores_can_be_written(run: Path) -> None:
    """``improved-gan score RUN`` merges into ``RUN/scores.json``: no link may lead out of the run, and the folder
    must take a new file (a read-only run is said before minutes of scoring)."""
    check_run_links(run)
    check_writable(run / SCORES, "the run's scores file", instead="make the run folder writable, or score a copy "
                   "of it")


def check_unchanged_since(run: Path, sampled: tuple | None) -> None:
    """``run``'s checkpoint is still the one ``sampled`` (:func:`~improved_gan.runs.layout.checkpoint_identity`)
    from which scores were made: otherwise they would be merged into the scores of another network."""
    now = checkpoint_identity(run)
    if now != sampled:
        what = ("was removed" if now is None else "was replaced: trained on, or the run overwritten")
        raise UserError(f"{run} changed while it was scored (its checkpoint {what}); the scores of the checkpoint "
                        f"that was sampled were neither printed nor written into {SCORES}")


def wrong_kinds(folder: Path) -> list[str]:
    """The paths of a run folder that stand where the trainer writes something of the other kind: a folder
    where a file goes (``checkpoints/last.pt/``, ``metrics.jsonl/``), a file where a folder goes (``checkpoints``),
    a file it writes in place that has other names (:func:`_hard_linked`)."""
    files = [CONFIG, "metrics.jsonl", "log.txt", RUNNING, f"{CHECKPOINTS}/{LAST_CHECKPOINT}",
             f"{CHECKPOINTS}/{PREVIOUS_CHECKPOINT}"]
    wrong = [f"{name} is a folder where the trainer writes a file" for name in files
             if (folder / name).is_dir() and not (folder / name).is_symlink()]
    wrong += [f"{name} is a file where the trainer writes a folder" for name in (CHECKPOINTS, SAMPLES, TENSORBOARD)
              if (folder / name).exists() and not (folder / name).is_dir()]
    wrong += [f"{name} has {links} names (a hard link): the trainer writes it in place, which would change the "
              "file under its other names too" for name, links in _hard_linked(folder)]
    return wrong


def _hard_linked(folder: Path) -> list[tuple[str, int]]:
    """``(name, link count)`` of the files of :data:`~improved_gan.runs.layout.WRITTEN_IN_PLACE` in ``folder`` that
    have more than one name. The files written by renaming over them may be hard-linked (a backup of a
    checkpoint): the rename leaves the other name's file as it was."""
    linked = []
    for name in sorted(WRITTEN_IN_PLACE):
        path = folder / name
        if path.is_file() and not path.is_symlink() and (links := path.stat().st_nlink) > 1:
            linked.append((name, links))
    return linked


def run_links(folder: Path) -> list[Path]:
    """The symbolic links among the paths a run writes in ``folder``: its own names at the top
    (:data:`~improved_gan.runs.layout.RUN_FILES`, ``RUN_FOLDERS``) and anything inside those folders, at
    any depth (a linked folder is listed, not entered). The run folder itself may be a link."""
    links = []
    for name in sorted(RUN_FILES | RUN_FOLDERS):
        path = folder / name
        if path.is_symlink():
            links.append(path)
        elif name in RUN_FOLDERS and path.is_dir():
            for root, folders, files in os.walk(path):  # followlinks=False
                links += [Path(root) / entry for entry in sorted(folders + files) if (Path(root) / entry).is_symlink()]
    return links


def check_run_links(folder: Path) -> None:
    """Raise UserError when a path the run writes in ``folder`` is a symbolic link (:func:`run_links`), wherever it
    leads: a write through it would replace a file of yours outside the run (``samples -> ~/figures`` holding
    ``epoch-0003.png``) or one of the run's own (``log.txt -> config.json``). Every command that writes into a
    run folder (train, resume, report, score) calls it first, before anything is written."""
    links = run_links(folder)
    if not links:
        return
    inside = os.path.realpath(folder) + os.sep

    def where(link: Path) -> str:
        if not os.path.exists(link):
            return "which does not exist"
        return "inside the run folder" if os.path.realpath(link).startswith(inside) else "outside the run folder"

    links.sort(key=lambda link: where(link) != "outside the run folder")  # the ones that reach your files first
    if len(links) == 1:
        link = links[0]
        kind = "folder" if link.is_dir() or link.parent == folder and link.name in RUN_FOLDERS else "file"
        raise UserError(f"{link} is a symbolic link to {os.readlink(link)} ({where(link)}); a run writes no file "
                        f"through a link: remove the link, or replace it with a real {kind}, and run again "
                        "(nothing was written)")
    shown = ", ".join(f"{link.relative_to(folder)} -> {os.readlink(link)} ({where(link)})" for link in links[:5])
    raise UserError(f"{folder} holds {len(links)} symbolic links where a run writes: {shown}"
                    f"{' and more' if len(links) > 5 else ''}; a run writes no file through a link: remove them, "
                    "or replace each with a real folder or file, and run again (nothing was written)")


def check_run_files(folder: Path) -> None:
    """Raise UserError when something in the run ``folder`` stands where the trainer must write: a link
    (:func:`check_run_links`) or a path of the wrong kind (:func:`wrong_kinds`), before any data is loaded: the
    run would write through it, or fail on its first write."""
    check_run_links(folder)
    wrong = wrong_kinds(folder)
    if wrong:
        raise UserError(f"{folder}: {'; '.join(wrong)}; move {'it' if len(wrong) == 1 else 'them'} out of the run "
                        "folder and run again (nothing was changed)")


def check_resumable(folder: Path) -> TrainConfig:
    """Raise UserError unless ``folder`` is a run that a resume may continue, as far as the folder says without
    its checkpoint (reading that needs torch: :func:`~improved_gan.training.trainer.resume` reads it next): a
    folder, not one inside a run, whose ``config.json`` is a run's, with nothing where the run writes that is a
    link or of the wrong kind (:func:`check_run_files`), and that no process trains now; returns its config.
    ``improved-gan resume`` asks it before torch is imported (docs/cli.md, Start-up)."""
    if not folder.is_dir():
        what = "a file, not a run folder" if folder.exists() else "no such run folder"
        raise UserError(f"resume {folder}: {what}; `improved-gan runs` lists your runs")
    enclosing = None if (folder / CONFIG).exists() else enclosing_run(folder)
    if enclosing is not None:  # e.g. resume RUN/checkpoints
        raise UserError(f"resume {folder}: a folder inside the run {enclosing}; resume the run itself: "
                        f"`improved-gan resume {enclosing}`")
    config = load_config(folder / CONFIG)
    check_run_files(folder)
    check_not_being_trained([folder])
    return config


def check_not_being_trained(folders: Iterable[Path]) -> None:
    """Raise UserError naming each run of ``folders`` that a process trains now (:func:`running_pid`): a resume,
    and a command that trains several runs (``reproduce``, ``demo``, ``ablate``) before it starts any worker."""
    busy = [(folder, pid) for folder in folders if (pid := running_pid(folder)) is not None]
    if len(busy) == 1:
        folder, pid = busy[0]
        raise UserError(f"{folder} is being trained by process {pid} now; wait for it or stop it first")
    if busy:
        shown = ", ".join(f"{folder} (process {pid})" for folder, pid in busy)
        raise UserError(f"{len(busy)} runs are being trained by other processes now: {shown}; wait for them or stop "
                        "them first (nothing was started)")


def check_new_run_folder(folder: Path, config: TrainConfig) -> None:
    """Raise UserError unless a new run of ``config`` may be written into ``folder`` (module docstring)."""
    check_outside_runs(folder, instead="choose a folder outside it", itself=False)  # a run itself: see below
    check_folder_path(folder)  # a file, a link to nothing, a file where a parent must be
    check_writable(folder, folder=True)  # a read-only disk said before the data loads
    if not folder.is_dir() or not any(folder.iterdir()):
        return
    if (folder / CONFIG).is_file():
        check_run_links(folder)  # a run's link named as such, before the run is judged
    if latest_checkpoint(folder) is not None and run_folder_problem(folder) is None:
        held = load_config(folder / CONFIG).preset
        if held != config.preset:
            raise UserError(
                f"{folder} already holds a run of preset {held}, not {config.preset}: choose another --out for "
                f"{config.preset}, continue the {held} run with `improved-gan resume {folder}`, or "
                "replace it with --overwrite; nothing was written"
            )
        raise UserError(
            f"{folder} already holds a run; continue it with `improved-gan resume {folder}`, "
            "start it again with --overwrite, or choose another --out"
        )
    problem = run_folder_problem(folder)
    if problem is not None:
        raise UserError(
            f"--out {folder} is a folder that is not empty and not a run ({problem}); nothing was written. "
            "Choose a new or empty folder"
        )
    differ = config_differences(load_config(folder / CONFIG), config, ignore=frozenset())
    if differ:
        raise UserError(
            f"{folder} holds the start of a run of another configuration ({', '.join(differ[:4])}); "
            "choose another --out, or pass --overwrite to replace it"
        )
    check_run_files(folder)


def check_run_folder(folder: Path, config: TrainConfig, *, overwrite: bool = False) -> bool:
    """Raise UserError unless a run of ``config`` may start in ``folder``; True when ``overwrite`` will remove
    what is there first (a link is never followed: it is refused). Writes nothing: ``train --dry-run`` uses it."""
    folder = Path(folder)
    if overwrite and (folder.is_symlink() or folder.is_dir() and any(folder.iterdir())):
        check_removable(folder)
        return True
    check_new_run_folder(folder, config)
    return False


# -- running.pid: the run's lock ---------------------------------------------------------------------

def running_pid(folder: Path) -> int | None:
    """The process training the run in ``folder`` now, or None: the process that holds the lock on its
    ``running.pid`` (:func:`~improved_gan.runs.process_lock.lock_holder`: fcntl.flock, which the OS releases when
    the process ends, however it ends). A file left by a killed process, or written by hand
    (``echo 1 > running.pid``), holds no lock and means nothing."""
    return lock_holder(folder / RUNNING)


class RunningMark(ProcessLock):
    """``with RunningMark(run_dir):`` holds the run's lock for the block: ``running.pid``, locked with
    ``fcntl.flock`` and holding this process's id; removed after. Entering it removes the temporary files a
    killed writer left in the run (:func:`~improved_gan.runs.layout.remove_leftover_temporaries`)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(Path(folder) / RUNNING,
                         lambda who: f"{folder} is being trained by {who} now; wait for it or stop it first")

    def __enter__(self) -> "RunningMark":
        super().__enter__()
        remove_leftover_temporaries(self.path.parent)
        return self
