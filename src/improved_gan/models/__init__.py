"""The paper's generators and discriminators, one file per experiment family.

- :mod:`~improved_gan.models.mnist`: the permutation-invariant MLPs of Section 6.1.
- :mod:`~improved_gan.models.cifar`: the convolutional models of Sections 6.2-6.3
  (CIFAR-10 and SVHN).
- :mod:`~improved_gan.models.imagenet`: the 128x128 ImageNet models of Section 6.5
  (the authors' and a DCGAN baseline; the authors' discriminator takes one joint
  ``[real; generated]`` batch).

Every discriminator returns a :class:`DiscriminatorOutput` ``(logits, features)``;
every generator maps ``z [N, latent_dim]`` to ``[N, C, H, W]`` images in its
``output_range``.
"""

from improved_gan.models.base import Discriminator, Generator
from improved_gan.models.outputs import DiscriminatorOutput

__all__ = ["Discriminator", "DiscriminatorOutput", "Generator"]
