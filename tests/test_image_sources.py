"""Image sources: folders, .npz files, dataset names and run folders, and their errors."""

from __future__ import annotations


import numpy as np
import pytest
from PIL import Image

from improved_gan.errors import UserError
from improved_gan.image_sources import describe_source, load_images


def _random_images(n: int, h: int, w: int, c: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, c), dtype=np.uint8)


def _save_pngs(folder, images: np.ndarray) -> None:
    folder.mkdir(exist_ok=True)
    for i, image in enumerate(images):
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(folder / f"{i:03d}.png")


@pytest.mark.parametrize("channels", [1, 3])
def test_png_folder_round_trips_in_file_name_order(tmp_path, channels):
    images = _random_images(12, 8, 6, channels)
    _save_pngs(tmp_path / "imgs", images)
    (tmp_path / "imgs" / "notes.txt").write_text("not an image")
    loaded = load_images(str(tmp_path / "imgs"))
    assert loaded.dtype == np.uint8 and loaded.shape == (12, 8, 6, channels)
    np.testing.assert_array_equal(loaded, images)
    np.testing.assert_array_equal(load_images(str(tmp_path / "imgs"), n=5), images[:5])


def test_jpeg_and_palette_images_are_read(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    rgb = _random_images(1, 8, 8, 3)[0]
    Image.fromarray(rgb).save(folder / "a.JPG")
    Image.fromarray(rgb).convert("P").save(folder / "b.png")
    loaded = load_images(str(folder))
    assert loaded.shape == (2, 8, 8, 3)


def test_empty_folder_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no images"):
        load_images(str(tmp_path / "empty"))


@pytest.mark.parametrize(
    "first_channels, odd_one_shape, message",
    [(3, (9, 8, 3), "differ in size"), (1, (8, 8, 3), "8x8 grayscale, zzz.png is 8x8 RGB")],
)
def test_mixed_sizes_or_modes_are_an_error(tmp_path, first_channels, odd_one_shape, message):
    folder = tmp_path / "mixed"
    _save_pngs(folder, _random_images(2, 8, 8, first_channels))
    Image.fromarray(_random_images(1, *odd_one_shape)[0]).save(folder / "zzz.png")
    with pytest.raises(UserError, match=message):
        load_images(str(folder))


def test_alpha_channel_is_an_error(tmp_path):
    folder = tmp_path / "rgba"
    folder.mkdir()
    Image.fromarray(_random_images(1, 8, 8, 4)[0], mode="RGBA").save(folder / "a.png")
    with pytest.raises(UserError, match="RGBA"):
        load_images(str(folder))


def test_npz_with_key_x_or_single_array(tmp_path):
    images = _random_images(10, 4, 4, 3)
    np.savez(tmp_path / "x.npz", x=images, y=np.arange(10))
    np.savez(tmp_path / "single.npz", samples=images)
    np.savez(tmp_path / "gray.npz", x=images[..., 0])
    np.testing.assert_array_equal(load_images(str(tmp_path / "x.npz")), images)
    np.testing.assert_array_equal(load_images(str(tmp_path / "single.npz")), images)
    assert load_images(str(tmp_path / "gray.npz")).shape == (10, 4, 4, 1)


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x": np.zeros((2, 4, 4, 3), np.float32)}, "dtype uint8.*float32.*astype"),
        ({"x": np.zeros((2, 3, 4, 4), np.uint8)}, r"\[N, C, H, W\]"),
        ({"x": np.zeros((2, 4, 4, 2), np.uint8)}, "C in"),
        ({"x": np.zeros((0, 4, 4, 3), np.uint8)}, "no pixels"),
        ({"a": np.zeros(1), "b": np.zeros(1)}, "which array"),
    ],
)
def test_bad_npz_is_an_error(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(UserError, match=message):
        load_images(str(tmp_path / "bad.npz"))


def test_unreadable_npz_and_other_files_are_errors(tmp_path):
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    with pytest.raises(UserError, match="not a readable .npz"):
        load_images(str(tmp_path / "broken.npz"))
    (tmp_path / "image.png").write_bytes(b"")
    with pytest.raises(UserError, match="must be an .npz"):
        load_images(str(tmp_path / "image.png"))
    with pytest.raises(UserError, match="no such file"):
        load_images(str(tmp_path / "missing.npz"))


def test_a_file_of_a_folder_that_is_no_image_is_named(tmp_path):
    """A text file named .png in an image folder: PIL's UnidentifiedImageError (an OSError) was a traceback
    unless the command caught it; the reader names the file itself."""
    from improved_gan.image_sources import UnreadableFile

    (tmp_path / "imgs").mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "imgs" / "a.png")
    (tmp_path / "imgs" / "b.png").write_text("this is not an image")
    with pytest.raises(UnreadableFile, match=r"b\.png: cannot identify .*; remove or replace that file"):
        load_images(str(tmp_path / "imgs"))


def test_asking_for_more_images_than_the_source_holds_is_an_error(tmp_path):
    np.savez(tmp_path / "x.npz", x=_random_images(3, 4, 4, 1))
    with pytest.raises(UserError, match="holds 3 images"):
        load_images(str(tmp_path / "x.npz"), n=4)
    with pytest.raises(UserError, match="positive"):
        load_images(str(tmp_path / "x.npz"), n=0)


def test_dataset_name_with_split(shared_data):
    images = load_images("mnist:test", data_dir=shared_data, n=100)
    assert images.shape == (100, 28, 28, 1) and images.dtype == np.uint8
    assert describe_source("mnist") == "dataset"


def test_unknown_dataset_lists_the_valid_names():
    with pytest.raises(UserError, match="valid names"):
        load_images("no-such-dataset")


def test_run_folder_is_sampled_through_the_sampling_module(tmp_path, monkeypatch):
    """The run-folder branch hands n, seed, batch size and device to ``sample_images`` unchanged."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.json").write_text("{}")
    calls = []

    def sample_images(run_dir, n, *, seed, batch_size, device, progress):
        calls.append((run_dir, n, seed, batch_size, device, progress))
        return np.zeros((n, 4, 4, 1), np.uint8)

    monkeypatch.setattr("improved_gan.image_sources.sample_images", sample_images)
    assert describe_source(str(run)) == "run"
    images = load_images(str(run), n=7, seed=3, batch_size=2, device="cpu", progress=False)
    assert images.shape == (7, 4, 4, 1)
    assert calls == [(run, 7, 3, 2, "cpu", False)]
    load_images(str(run), progress=False)
    assert calls[-1][1] == 50_000
