"""The ImageNet-style folder loader on a small folder built from real CIFAR-10 images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from improved_gan.data.image_folder import ImageFolderDataset
from improved_gan.errors import DataError

# created out of order: the loader must sort them (n001 -> 0, n002 -> 1, n003 -> 2)
CLASS_FOLDERS = ("n003", "n001", "n002")
SUFFIXES = (".JPEG", ".jpg", ".png")


@pytest.fixture
def cifar_images(shared_data: Path) -> np.ndarray:
    """12 real CIFAR-10 images, uint8 [12, 32, 32, 3]."""
    with np.load(shared_data / "cifar10" / "train-00.npz") as shard:
        return shard["x"][:12]


@pytest.fixture
def image_root(tmp_path: Path, cifar_images: np.ndarray) -> Path:
    """ROOT/<3 class folders>/ 4 images each, upscaled to 160 x 136 (W x H), in mixed formats; plus noise files."""
    root = tmp_path / "train"
    for c, folder in enumerate(CLASS_FOLDERS):
        (root / folder).mkdir(parents=True)
        for i in range(4):
            image = Image.fromarray(cifar_images[4 * c + i]).resize((160, 136), Image.BILINEAR)
            image.save(root / folder / f"{folder}_{i}{SUFFIXES[i % 3]}")
    (root / "n001" / "notes.txt").write_text("not an image")
    (root / "synsets.txt").write_text("files directly in ROOT are ignored")
    return root


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def test_classes_sorted_items_uint8_and_counts(image_root):
    dataset = ImageFolderDataset(image_root, expected_classes=3)
    assert dataset.class_names == ("n001", "n002", "n003") and dataset.num_classes == 3
    assert len(dataset) == 12 and dataset.class_counts().tolist() == [4, 4, 4]
    assert dataset.labels.dtype == np.int64 and dataset.labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert dataset.ignored_files == 1  # notes.txt; synsets.txt is not in a class folder
    image, label = dataset[5]
    assert image.dtype == torch.uint8 and image.shape == (128, 128, 3) and label == 1
    assert dataset.path(5).parent.name == "n002"
    assert "12 images in 3 classes" in dataset.summary() and "0 unreadable" in dataset.summary()


def test_resize_shorter_side_then_centre_crop(tmp_path):
    # shorter side already 128: no resize, only the centre crop of columns 32..159 of a 192-wide image
    pixels = np.random.default_rng(0).integers(0, 256, size=(128, 192, 3), dtype=np.uint8)
    (tmp_path / "a").mkdir()
    Image.fromarray(pixels).save(tmp_path / "a" / "x.png")
    image, _ = ImageFolderDataset(tmp_path)[0]
    np.testing.assert_array_equal(image.numpy(), pixels[:, 32:160])
    # a 64 x 32 image: shorter side to 128 (256 x 128), then the middle 128 columns; a flat image stays flat
    Image.fromarray(np.full((32, 64, 3), 77, dtype=np.uint8)).save(tmp_path / "a" / "y.png")
    small, _ = ImageFolderDataset(tmp_path, image_size=64, resize=96)[1]
    assert small.shape == (64, 64, 3) and torch.all(small == 77)


def test_streams_through_a_dataloader_with_workers(image_root):
    dataset = ImageFolderDataset(image_root)
    loader = DataLoader(dataset, batch_size=4, shuffle=True, num_workers=2,
                        generator=torch.Generator().manual_seed(0))
    batches = list(loader)
    assert len(batches) == 3
    images, labels = batches[0]
    assert images.dtype == torch.uint8 and images.shape == (4, 128, 128, 3) and labels.dtype == torch.int64
    assert sorted(torch.cat([b[1] for b in batches]).tolist()) == dataset.labels.tolist()


def test_corrupt_image_fails_by_default_in_one_line(image_root):
    _truncate(image_root / "n002" / "n002_0.JPEG")
    dataset = ImageFolderDataset(image_root)
    with pytest.raises(DataError, match=r"n002_0\.JPEG: cannot be decoded as an image") as err:
        dataset[4]
    assert "\n" not in str(err.value)
    assert dataset[5][1] == 1  # the others still read


def test_corrupt_images_skipped_and_counted_across_workers(image_root):
    _truncate(image_root / "n002" / "n002_0.JPEG")
    (image_root / "n003" / "n003_3.JPEG").write_bytes(b"not a jpeg at all")
    dataset = ImageFolderDataset(image_root, on_corrupt="skip")
    loader = DataLoader(dataset, batch_size=6, num_workers=2)
    labels = torch.cat([labels for _, labels in loader])
    assert labels.tolist() == dataset.labels.tolist()  # every item served with its own class's label
    # found by the workers, reported in the main process
    assert sorted(p.name for p in dataset.corrupt_files()) == ["n002_0.JPEG", "n003_3.JPEG"]
    assert "2 unreadable images found so far" in dataset.summary()
    # the substitute is the next readable image of the same class
    torch.testing.assert_close(dataset[4][0], dataset[5][0])


def test_a_class_of_only_unreadable_images_is_an_error(image_root):
    for path in (image_root / "n001").glob("n001_*"):
        path.write_bytes(b"\xff\xd8 broken")
    dataset = ImageFolderDataset(image_root, on_corrupt="skip")
    with pytest.raises(DataError, match="n001: none of its 4 images can be decoded; the class would silently drop"):
        dataset[0]


def test_missing_root_and_bad_layouts_are_one_clear_line(tmp_path, image_root):
    cases = []
    with pytest.raises(DataError, match="no such folder; expected ROOT/<class folder>/") as err:
        ImageFolderDataset(tmp_path / "nowhere")
    cases.append(err)
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="is not a folder") as err:
        ImageFolderDataset(tmp_path / "file")
    cases.append(err)
    (tmp_path / "flat").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "flat" / "a.jpg")
    with pytest.raises(DataError, match="holds no class folders") as err:
        ImageFolderDataset(tmp_path / "flat")
    cases.append(err)
    (image_root / "n004").mkdir()
    (image_root / "n004" / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match=r"1 of 4 class folders hold no .* images \(n004\)") as err:
        ImageFolderDataset(image_root)
    cases.append(err)
    assert all("\n" not in str(e.value) for e in cases)


def test_expected_classes(image_root):
    with pytest.raises(DataError, match="3 class folders, expected 1,000"):
        ImageFolderDataset(image_root, expected_classes=1000)
    with pytest.raises(DataError, match="missing class folders: n000; unexpected folders: n003"):
        ImageFolderDataset(image_root, expected_classes=["n000", "n001", "n002"])
    assert len(ImageFolderDataset(image_root, expected_classes=["n003", "n002", "n001"])) == 12
    with pytest.raises(ValueError, match="on_corrupt must be 'fail' or 'skip'"):
        ImageFolderDataset(image_root, on_corrupt="ignore")
