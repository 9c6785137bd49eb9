"""Input checks the models share: a wrong shape is one clear ``ValueError``."""

from __future__ import annotations

from torch import Tensor

__all__ = ["check_images", "check_latent"]


def check_images(x: Tensor, image_shape: tuple[int, int, int], model: str, *, allow_flat: bool = False) -> None:
    """Raise ``ValueError`` unless ``x`` is ``[N, C, H, W]`` (or ``[N, C*H*W]`` if ``allow_flat``)."""
    channels, height, width = image_shape
    if tuple(x.shape[1:]) == tuple(image_shape):
        return
    if allow_flat and x.dim() == 2 and x.shape[1] == channels * height * width:
        return
    expected = f"[N, {channels}, {height}, {width}]"
    if allow_flat:
        expected += f" or [N, {channels * height * width}]"
    raise ValueError(f"{model} expects images of shape {expected} (got {list(x.shape)})")


def check_latent(z: Tensor, latent_dim: int, model: str) -> None:
    """Raise ``ValueError`` unless ``z`` is ``[N, latent_dim]``."""
    if z.dim() != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"{model} expects latent vectors of shape [N, {latent_dim}] (got {list(z.shape)})")
