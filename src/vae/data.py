"""The handwritten digits that ship with scikit-learn, as float tensors.

1,797 images of 8x8 pixels; each pixel is a count of inked sub-pixels in 0..16 (a 4x4 block of a
32x32 bitmap), so a Binomial(16, p) likelihood is a true probability mass and log p(x) is in nats.
Nothing is downloaded: the data set is a file inside scikit-learn.

The split is fixed: a permutation of the 1,797 indices with seed 0; the first 1,347 images are
``"train"``, the last 450 are ``"test"``.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Literal, overload

import numpy as np
import torch
from torch import Tensor

#: Pixels per image (8x8).
N_PIXELS = 64
#: The largest pixel value, i.e. the number of sub-pixels that each pixel counts.
MAX_COUNT = 16
N_TRAIN = 1347
N_TEST = 450
SPLITS = ("train", "test", "all")
_SEED = 0


def _split_indices(split: str) -> np.ndarray:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    perm = np.random.default_rng(_SEED).permutation(N_TRAIN + N_TEST)
    if split == "train":
        return perm[:N_TRAIN]
    if split == "test":
        return perm[N_TRAIN:]
    return np.arange(N_TRAIN + N_TEST)


@functools.cache
def _digits_file() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 images [1797, 64] and labels [1797] from the file inside scikit-learn.

    This is the file that ``sklearn.datasets.load_digits`` reads; reading it directly skips
    importing scikit-learn (about 2 s), and the test suite checks both give the same data.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("the digits ship with scikit-learn: pip install scikit-learn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    table = np.loadtxt(path, delimiter=",", dtype=np.float64)
    return table[:, :-1], table[:, -1].astype(np.int64)


@overload
def load_digits(
    split: str = ..., *, dtype: torch.dtype = ..., return_labels: Literal[False] = ...
) -> Tensor: ...


@overload
def load_digits(
    split: str = ..., *, dtype: torch.dtype = ..., return_labels: Literal[True]
) -> tuple[Tensor, Tensor]: ...


def load_digits(
    split: str = "train", *, dtype: torch.dtype = torch.float32, return_labels: bool = False
) -> Tensor | tuple[Tensor, Tensor]:
    """Load the digits as a float tensor of counts, shape [N, 64], values in 0..16.

    Args:
        split: ``"train"`` (1,347 images), ``"test"`` (450) or ``"all"`` (1,797, original order).
        dtype: a floating-point dtype for the images.
        return_labels: also return the digit classes, a long tensor of shape [N].
    """
    if not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating-point dtype, got {dtype}")
    idx = _split_indices(split)
    images, labels = _digits_file()
    x = torch.as_tensor(images[idx], dtype=dtype)
    if return_labels:
        return x, torch.as_tensor(labels[idx], dtype=torch.long)
    return x


def dequantize(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Uniform dequantization: counts c -> c + u with u ~ U[0, 1), for continuous densities.

    A density on the dequantized data lower-bounds the log-probability of the counts
    (Theis et al. 2016, :cite:p:`theis2016note`), so Gaussian and Binomial models can be compared
    in nats per image.
    """
    return x + torch.rand(x.shape, generator=generator, dtype=x.dtype)


def binarize(x: Tensor, threshold: float = MAX_COUNT / 2) -> Tensor:
    """Binary images for a Bernoulli decoder: 1 where the count exceeds ``threshold``, else 0.

    Keeps ``x``'s shape and floating-point dtype.
    """
    return (x > threshold).to(x.dtype)
