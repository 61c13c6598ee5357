"""The digits loader: sizes, values, a fixed and disjoint split, clear errors."""

import pytest
import torch

from vae.data import MAX_COUNT, N_TEST, N_TRAIN, dequantize, load_digits


def test_split_sizes_and_pixel_counts():
    train, test, every = load_digits("train"), load_digits("test"), load_digits("all")
    assert train.shape == (N_TRAIN, 64) and test.shape == (N_TEST, 64)
    assert every.shape == (1797, 64)
    assert train.dtype == torch.float32
    assert every.min() == 0 and every.max() == MAX_COUNT
    assert torch.equal(every, every.round())


def test_split_is_fixed_and_disjoint_and_covers_all_images():
    (a, ya), (b, yb) = (
        load_digits("train", return_labels=True),
        load_digits("test", return_labels=True),
    )
    assert torch.equal(a, load_digits("train"))
    rows = {
        tuple(r.tolist()) + (int(y),)
        for r, y in zip(torch.cat([a, b]), torch.cat([ya, yb]), strict=True)
    }
    every, y = load_digits("all", return_labels=True)
    assert rows == {tuple(r.tolist()) + (int(t),) for r, t in zip(every, y, strict=True)}
    assert set(ya.tolist()) == set(range(10))


def test_dtype_is_respected():
    assert load_digits("test", dtype=torch.float64).dtype == torch.float64


def test_dequantize_stays_inside_the_unit_cube_above_each_count():
    x = load_digits("test")
    u = dequantize(x, generator=torch.Generator().manual_seed(0)) - x
    assert (u >= 0).all() and (u < 1).all()


@pytest.mark.parametrize("split", ["validation", "", "TRAIN"])
def test_unknown_split_raises(split):
    with pytest.raises(ValueError, match="split must be one of"):
        load_digits(split)


def test_integer_dtype_raises():
    with pytest.raises(ValueError, match="floating-point"):
        load_digits("train", dtype=torch.int64)


def test_same_images_and_labels_as_scikit_learn():
    from sklearn import datasets

    bunch = datasets.load_digits()
    x, y = load_digits("all", dtype=torch.float64, return_labels=True)
    assert torch.equal(x, torch.as_tensor(bunch.data))
    assert torch.equal(y, torch.as_tensor(bunch.target))
