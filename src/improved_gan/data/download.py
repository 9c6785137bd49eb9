"""Fetching dataset files from the network, checked, and placed atomically.

The network is reached only through a :data:`Downloader`: a function that
writes one URL to one path. The default, :func:`torchvision_download`, uses
torchvision's download utilities; loaders take any other (tests pass one that
fails, to simulate a machine without network). A download lands in a private
temporary folder beside its destination, is checked, and only then moves into
place with ``os.replace``, so an interrupted or corrupt download never leaves a
file that looks real.
"""

from __future__ import annotations

import http.client
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from improved_gan.errors import DataError

Downloader = Callable[[str, Path], None]
"""``downloader(url, destination)`` writes the resource at ``url`` to ``destination``.

It raises ``OSError`` (``urllib.error.URLError`` included), ``RuntimeError`` or
``http.client.HTTPException`` when the resource cannot be fetched.
"""

_FETCH_ERRORS = (OSError, RuntimeError, http.client.HTTPException)


def torchvision_download(url: str, destination: Path) -> None:
    """Download ``url`` to ``destination`` with ``torchvision.datasets.utils.download_url``."""
    # Imported here: torchvision takes seconds to import and most runs never download.
    from torchvision.datasets.utils import download_url

    download_url(url, root=os.fspath(destination.parent), filename=destination.name)


class DownloadFailed(Exception):
    """Every mirror failed; ``attempts`` holds one ``"url: reason"`` line per mirror."""

    def __init__(self, attempts: Sequence[str]) -> None:
        super().__init__("; ".join(attempts))
        self.attempts = tuple(attempts)


def download_checked(
    urls: Sequence[str],
    destination: Path,
    *,
    check: Callable[[Path], None],
    downloader: Downloader,
) -> None:
    """Fetch the first of ``urls`` that works and passes ``check``, then move it to ``destination``.

    Args:
        urls: mirrors of one file, tried in order.
        destination: the final path; it appears only once its content passed ``check``.
        check: raises :class:`DataError` when a downloaded file is not the expected
            content (then the next mirror is tried).
        downloader: see :data:`Downloader`.

    Raises:
        DownloadFailed: no mirror delivered a file that passed ``check``.
    """
    attempts = []
    made = [folder for folder in (destination.parent, *destination.parent.parents) if not folder.exists()]
    for url in urls:
        staging = _staging_folder(destination.parent)
        try:
            fetched = staging / destination.name
            downloader(url, fetched)
            check(fetched)
            os.replace(fetched, destination)
            return
        except (*_FETCH_ERRORS, DataError) as err:
            attempts.append(f"{url}: {err}")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    for folder in made:  # the folders made for this download, deepest first: a failed one leaves none behind
        try:
            folder.rmdir()  # only an empty folder is removed
        except OSError:
            break
    raise DownloadFailed(attempts)


def _refuse_a_non_file(path: Path, what: str) -> None:
    """Something at ``path`` that is not the file (a folder, a broken or looping symbolic link) is named, rather
    than reported as missing and downloaded beside it."""
    if path.is_dir():
        raise DataError(f"{path} is a folder, not the {what}; move it away and put the file there")
    if path.is_symlink():  # and not a file: its target is missing, or it points to itself
        raise DataError(f"{path} is a symbolic link to {os.readlink(path)}, which is not a readable file "
                        f"(missing, or a loop); fix or remove the link to the {what}")


def _staging_folder(parent: Path) -> Path:
    try:
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".download-", dir=parent))
    except OSError as err:
        blocker = next((p for p in (parent, *parent.parents) if p.exists() and not p.is_dir()), None)
        why = f"{blocker} is a file, not a folder" if blocker is not None else err.strerror or err
        raise DataError(
            f"cannot download into {parent}: {why}. Choose a writable data folder "
            "(--data-dir DIR or IMPROVED_GAN_DATA=DIR)."
        ) from err


def missing_files_error(
    what: str,
    looked_for: Sequence[Path | str],
    *,
    how_to_supply: str,
    failed_downloads: Sequence[str] = (),
) -> DataError:
    """The one error for data that is not on disk and could not be downloaded.

    Args:
        what: the missing thing, e.g. ``"MNIST file train-images-idx3-ubyte"``.
        looked_for: every path that was searched.
        how_to_supply: a sentence telling the user where to put the files.
        failed_downloads: ``"url: reason"`` lines; empty when downloading was off.
    """
    message = f"{what} not found (looked for {', '.join(str(path) for path in looked_for)}). "
    if failed_downloads:
        message += f"Downloading it failed (is this machine offline? {'; '.join(failed_downloads)}). "
    else:
        message += "Downloading was switched off. "
    return DataError(message + how_to_supply)  # one line, as every error the command line prints


def find_or_fetch(
    candidates: Sequence[Path],
    *,
    what: str,
    how_to_supply: str,
    download: bool,
    urls: Sequence[str],
    destination: Path,
    check: Callable[[Path], None],
    downloader: Downloader,
) -> Path:
    """The first of ``candidates`` that is a file, else a fresh checked download, else one clear error.

    Args:
        candidates: where the file may already lie, in order of preference.
        what, how_to_supply: see :func:`missing_files_error`.
        download: whether fetching is allowed.
        urls, destination, check, downloader: see :func:`download_checked`.
    """
    for path in candidates:
        if path.is_file():
            return path
    for path in candidates:
        _refuse_a_non_file(path, what)
    failed: tuple[str, ...] = ()
    if download:
        try:
            download_checked(urls, destination, check=check, downloader=downloader)
            return destination
        except DownloadFailed as err:
            failed = err.attempts
    raise missing_files_error(what, candidates, how_to_supply=how_to_supply, failed_downloads=failed)
