"""The count distributions draw and score exactly as torch's Binomial and Categorical do."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Binomial, Categorical

from vae import checks
from vae.counts import CountBinomial, CountCategorical


def test_count_binomial_samples_what_torch_binomial_samples_from_the_same_seed():
    logits = torch.randn(5, 64, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(1)
    ours = CountBinomial(16, logits).sample((3,))
    torch.manual_seed(1)
    theirs = Binomial(16, logits=logits).sample((3,))
    assert torch.equal(ours, theirs) and ours.shape == (3, 5, 64)
    torch.testing.assert_close(CountBinomial(16, logits).mean, Binomial(16, logits=logits).mean)


def test_count_categorical_samples_what_torch_categorical_samples_from_the_same_seed():
    logits = torch.randn(5, 64, 17, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(1)
    ours = CountCategorical(logits).sample((3,))
    torch.manual_seed(1)
    theirs = Categorical(logits=torch.log_softmax(logits, -1)).sample((3,))
    assert torch.equal(ours, theirs.to(ours.dtype)) and ours.dtype == logits.dtype


@pytest.mark.parametrize(
    "make",
    [lambda: CountBinomial(16, torch.zeros(3)), lambda: CountCategorical(torch.zeros(3, 17))],
)
def test_counts_outside_the_support_are_refused_unless_built_with_checks_off(make):
    with pytest.raises(ValueError):
        make().log_prob(torch.full((3,), 17.0))
    with checks.disabled():
        unchecked = make()
    unchecked.log_prob(torch.full((3,), 16.5))  # not validated: no error (the caller checked)
