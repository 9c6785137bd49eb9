"""``log.txt`` on a full disk: logging printed "--- Logging error ---" and a traceback per line while the run went
on without its log (the third sweep of issue 26); now the write's OSError is the run's error, said in one line."""

from __future__ import annotations

import errno

import pytest

from improved_gan.runs.layout import close_log, open_log


def test_a_log_line_that_cannot_be_written_raises_instead_of_printing_a_traceback(tmp_path, capsys):
    logger = open_log(tmp_path)
    try:
        logger.info("epoch 1")
        handler = logger.handlers[0]

        def full(*args):
            raise OSError(errno.ENOSPC, "No space left on device")

        handler.stream.write = full
        with pytest.raises(OSError, match="No space left"):
            logger.info("epoch 2")
    finally:
        close_log(logger)
    assert "Logging error" not in capsys.readouterr().err
    assert (tmp_path / "log.txt").read_text().endswith("epoch 1\n")
