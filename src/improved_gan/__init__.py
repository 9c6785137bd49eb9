"""improved-gan: *Improved Techniques for Training GANs* (Salimans et al., 2016) in PyTorch.

The package is laid out the way one experiment flows (see docs/design.md):
``techniques`` (Section 3) -> ``models`` -> ``training`` -> ``metrics`` (Section 4)
-> ``turing`` (the human study), with ``data`` and ``presets`` feeding the trainer.
"""

__version__ = "0.1.0"
