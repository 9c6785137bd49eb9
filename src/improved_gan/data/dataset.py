"""The one container every dataset loader returns: uint8 images plus labels.

Loaders hand back raw pixels (``uint8``, ``[N, H, W, C]``) and integer labels;
scaling to a model's input range happens once per preset, never here
(docs/design.md). The arrays belong to the dataset: no loader keeps a cache
that shares them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """A labelled image dataset split, fully in memory.

    Args:
        name: registry name of the dataset (``"mnist"``, ``"cifar10"``, ...).
        split: which part of it (``"train"``, ``"test"``, ``"validation"``, ...).
        images: ``uint8`` array ``[N, H, W, C]`` (MNIST: ``C = 1``).
        labels: ``int64`` array ``[N]`` with values in ``0 .. num_classes - 1``.
        num_classes: number of classes ``K``.
        class_names: ``K`` human-readable class names, index = label.
        partial: ``True`` when the split holds fewer examples than the official
            release (e.g. the 1,000 CIFAR-10 test images available here); a
            caller should then report a confidence interval with its scores.
        note: one sentence for reports: where the split comes from and, when
            ``partial``, how much of the official split it holds.
        sources: the files the split was read from.

    Shape:
        - images: ``[N, H, W, C]``, ``uint8``
        - labels: ``[N]``, ``int64``
    """

    name: str
    split: str
    images: np.ndarray
    labels: np.ndarray
    num_classes: int
    class_names: tuple[str, ...]
    partial: bool = False
    note: str = ""
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise ValueError(
                f"expected uint8 images [N, H, W, C] (got {self.images.dtype} {self.images.shape})"
            )
        if self.labels.dtype != np.int64 or self.labels.ndim != 1:
            raise ValueError(f"expected int64 labels [N] (got {self.labels.dtype} {self.labels.shape})")
        if len(self.images) != len(self.labels):
            raise ValueError(f"expected one label per image (got {len(self.images)} images, {len(self.labels)} labels)")
        if len(self.class_names) != self.num_classes:
            raise ValueError(f"expected {self.num_classes} class names (got {len(self.class_names)})")
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= self.num_classes):
            raise ValueError(
                f"expected labels in 0..{self.num_classes - 1} "
                f"(got {self.labels.min()}..{self.labels.max()})"
            )

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        flag = ", partial" if self.partial else ""
        return (
            f"ImageDataset(name={self.name!r}, split={self.split!r}, "
            f"images={self.images.shape}, num_classes={self.num_classes}{flag})"
        )

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(H, W, C)`` of one image."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def class_counts(self) -> np.ndarray:
        """Examples per class, ``int64 [num_classes]``."""
        return np.bincount(self.labels, minlength=self.num_classes)

    def subset(self, indices: np.ndarray, *, split: str | None = None, note: str | None = None) -> ImageDataset:
        """The examples at ``indices`` (in that order), as a new dataset.

        Args:
            indices: integer array ``[M]`` of positions in this dataset.
            split: the new split's name (default: this split's name).
            note: the new split's note (default: this split's note).
        """
        indices = np.asarray(indices)
        if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer):
            raise ValueError(f"expected a 1D integer index array (got {indices.dtype} {indices.shape})")
        return dataclasses.replace(
            self,
            split=self.split if split is None else split,
            note=self.note if note is None else note,
            images=self.images[indices],
            labels=self.labels[indices],
        )
