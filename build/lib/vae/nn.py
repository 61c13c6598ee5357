"""The networks inside the encoder and the decoders: plain multilayer perceptrons."""

from __future__ import annotations

from torch import nn


def mlp(sizes: list[int], activation: type[nn.Module] = nn.Tanh) -> nn.Sequential:
    """A multilayer perceptron: Linear layers of the given sizes with ``activation`` between.

    ``mlp([64, 128, 4])`` maps [..., 64] to [..., 4] through one hidden layer of 128 units.
    """
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)
