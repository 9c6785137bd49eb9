"""Text written whole to standard output, or an error: for output that is the one copy of what it shows (invitation
codes).

``print`` does not always say when its text did not all arrive: with ``PYTHONUNBUFFERED`` (or ``python -u``),
standard output writes straight to the file, and a write the pipe took only part of (its reader closed it
meanwhile, `invite | head -1`) dropped the rest without an error, so `invite --n 3000 | head -1` stored 3000
codes and exited 0.
"""

from __future__ import annotations

import sys


def write_whole(text: str) -> None:
    """Write ``text`` to ``sys.stdout`` and flush it; BrokenPipeError (or another OSError) unless every byte was
    taken by the file or pipe behind it."""
    stream = sys.stdout
    binary = getattr(stream, "buffer", None)
    if binary is None:  # a stream of text alone (a test's capture): its write takes the whole text or raises
        stream.write(text)
        stream.flush()
        return
    stream.flush()  # what was written before goes first
    data = memoryview(text.encode(stream.encoding or "utf-8", stream.errors or "strict"))
    while data:
        written = binary.write(data)  # a buffered writer takes it all or raises; the raw file may take part
        if written is None:  # a non-blocking output that is full
            raise BlockingIOError("standard output took none of the text")
        data = data[written:]
    binary.flush()
