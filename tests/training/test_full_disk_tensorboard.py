"""A run that fails on a full disk says so in one line: TensorBoard's writer thread adds no traceback (sweep 2).

``train ... --out FULL/x`` printed ``error: cannot write the run: No space left on device; ...`` and then
``Exception in thread Thread-1:`` with 40 lines of TensorBoard's EventFileWriter (made before the first epoch, its
thread wrote the events file's first record at once and failed), and left a 0-byte events file. The writer is now
made once the epoch's checkpoint is written: the checkpoint's failure is the run's one error.
"""

from __future__ import annotations

import errno
import os
import threading

from clitools import one_line_error
from tiny_run import TINY


def test_a_full_disk_is_one_line_without_tensorboards_thread(tmp_path, capsys, monkeypatch):
    from tensorboard.compat.tensorflow_stub.io import gfile

    from improved_gan.runs import checkpoint

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(checkpoint, "save_checkpoint", no_space)  # the run's first large write
    monkeypatch.setattr(gfile.LocalFileSystem, "write", no_space)  # TensorBoard's records, written by its thread
    thread_errors = []
    monkeypatch.setattr(threading, "excepthook", thread_errors.append)
    out = tmp_path / "x"
    one_line_error(capsys, ["train", "mnist-fm", *TINY, "--out", str(out)], "No space left on device")
    for thread in threading.enumerate():  # a writer's thread, had one been started
        if thread is not threading.current_thread() and type(thread).__name__ == "_AsyncWriterThread":
            thread.join(timeout=10)
    assert thread_errors == [], [str(e.exc_value) for e in thread_errors]
    assert not (out / "tensorboard").exists()  # no 0-byte events file
    assert capsys.readouterr().err == ""
