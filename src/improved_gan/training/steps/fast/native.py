"""The C kernels of ``kernels.c``: compiled on first use, called through ctypes.

The source is compiled once per (source, compiler, flags, processor) with the
system C compiler (``$CC``, else ``cc``) into a cache folder
(``$IMPROVED_GAN_CACHE``, else ``~/.cache/improved_gan``), the way custom
operators are built on first use elsewhere (e.g. StyleGAN2-ADA's
``custom_ops``). Plain C with no headers beyond the C library's: a build takes
about a second. Where no compiler works, :func:`load_kernels` raises
:class:`NativeKernelsUnavailable`, and the callers use their pure-PyTorch
implementations instead, saying so once in a warning.

Built with ``-fopenmp``, the kernels split their work between PyTorch's own
OpenMP threads: the library's ``libgomp.so.1`` is the one PyTorch has already
loaded, so ``torch.set_num_threads`` applies and no second thread pool
competes with the matrix products for the cores. Where the compiler has no
OpenMP, they are built without it and run on the calling thread.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import torch

from improved_gan.training.device import cpu_flags

SOURCE = Path(__file__).with_name("kernels.c")
FLAGS = ("-O3", "-march=native", "-fno-math-errno", "-fPIC", "-shared", "-std=c99")
OPENMP = ("-fopenmp",)

_i64, _u64, _u32, _int, _f32, _ptr = (
    ctypes.c_int64, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_int, ctypes.c_float, ctypes.c_void_p
)
_SIGNATURES = {
    "igan_add_noise": [_ptr, _i64, _ptr, _int, _f32, _u64, _u32],
    "igan_scale_bias_relu_noise": [_ptr, _int, _ptr, _ptr, _i64, _i64, _ptr, _ptr, _int, _f32, _u64, _u32],
    "igan_dense_backward": [_ptr, _int, _ptr, _int, _ptr, _int, _ptr, _i64, _i64, _ptr, _int, _ptr, _ptr],
    "igan_batch_norm_softplus": [_ptr, _int, _ptr, _i64, _i64, _f32, _ptr, _ptr, _ptr, _ptr, _int],
    "igan_batch_norm_softplus_backward": [_ptr, _int, _ptr, _ptr, _ptr, _i64, _i64, _ptr, _int, _ptr],
    "igan_adam": [_ptr, _i64, _ptr],
    "igan_row_sumsq": [_ptr, _i64, _i64, _ptr],
}


class AdamScalars(ctypes.Structure):
    """``struct igan_adam_scalars`` of kernels.c: the hyperparameters of one fused Adam step."""

    _fields_ = [
        ("neg_step_size", _f32), ("beta1", _f32), ("beta2", _f32), ("eps", _f32),
        ("bias_correction2", _f32), ("bias_correction2_sqrt", _f32), ("eps_inside_root", ctypes.c_int32),
        ("average_rate", _f32),
    ]


class AdamTensor(ctypes.Structure):
    """``struct igan_adam_tensor`` of kernels.c: one parameter of a fused Adam step."""

    _fields_ = [
        ("param", _ptr), ("matrix", _ptr), ("coef", _ptr), ("exp_avg", _ptr), ("exp_avg_sq", _ptr),
        ("copy", _ptr), ("sumsq", _ptr), ("average", _ptr),
        ("rows", _i64), ("cols", _i64), ("matrix_bf16", ctypes.c_int32), ("copy_bf16", ctypes.c_int32),
    ]


class NativeKernelsUnavailable(RuntimeError):
    """The C kernels could not be built or loaded here (the message says why)."""


def _cache_dir() -> Path:
    root = os.environ.get("IMPROVED_GAN_CACHE") or Path.home() / ".cache" / "improved_gan"
    return Path(root) / "kernels"


def _compiler() -> str:
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not compiler:
        raise NativeKernelsUnavailable("no C compiler found (set $CC or install gcc)")
    return compiler


def _build_key(compiler: str, source: bytes) -> str:
    """A name for the build: the source, the compiler, the flags and this processor."""
    digest = hashlib.sha256(source)
    digest.update(" ".join([compiler, *FLAGS, *OPENMP, platform.machine(), platform.processor()]).encode())
    try:
        digest.update(subprocess.run([compiler, "--version"], capture_output=True, timeout=30).stdout)
    except (OSError, subprocess.SubprocessError) as err:
        raise NativeKernelsUnavailable(f"the C compiler {compiler} does not run ({err})") from None
    try:  # -march=native builds for this processor: key the build by its features
        digest.update(" ".join(sorted(cpu_flags(Path("/proc/cpuinfo").read_text()))).encode())
    except OSError:
        pass
    return digest.hexdigest()[:16]


def _build(compiler: str, library: Path) -> None:
    """Compile with OpenMP, or without where the compiler has none."""
    try:
        library.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise NativeKernelsUnavailable(f"cannot create the kernel cache {library.parent} ({err})") from None
    partial = library.with_name(f"{library.name}.{os.getpid()}.tmp")
    errors = []
    for extra in (OPENMP, ()):
        command = [compiler, *FLAGS, *extra, "-x", "c", str(SOURCE), "-o", str(partial)]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.SubprocessError) as err:
            raise NativeKernelsUnavailable(f"{' '.join(command)} failed to run ({err})") from None
        if result.returncode == 0:
            os.replace(partial, library)  # atomic: concurrent builders agree on the result
            return
        errors.append(f"{' '.join(command)}:\n{result.stderr.strip()}")
    partial.unlink(missing_ok=True)
    raise NativeKernelsUnavailable("the kernels do not compile: " + "\n".join(errors))


@functools.lru_cache(maxsize=1)
def load_kernels() -> ctypes.CDLL:
    """The compiled kernels (built on first use); raises :class:`NativeKernelsUnavailable`."""
    if sys.byteorder != "little":
        raise NativeKernelsUnavailable("the kernels assume a little-endian processor")
    try:
        source = SOURCE.read_bytes()
    except OSError as err:
        raise NativeKernelsUnavailable(f"cannot read the kernel source {SOURCE} ({err})") from None
    compiler = _compiler()
    library = _cache_dir() / f"kernels-{_build_key(compiler, source)}.so"
    if not library.is_file():
        _build(compiler, library)
    try:
        lib = ctypes.CDLL(str(library))
    except OSError as err:
        raise NativeKernelsUnavailable(f"cannot load {library} ({err})") from None
    for name, argtypes in _SIGNATURES.items():
        function = getattr(lib, name)
        function.argtypes = argtypes
        function.restype = None
    return lib


def pointer(tensor: torch.Tensor | None) -> int | None:
    """A tensor's data address for a kernel argument (NULL for None)."""
    return None if tensor is None else tensor.data_ptr()


def native_kernels_available() -> bool:
    try:
        load_kernels()
    except NativeKernelsUnavailable:
        return False
    return True
