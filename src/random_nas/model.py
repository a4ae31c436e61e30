"""A CNN built from an architecture's plain description, and what it costs."""

from __future__ import annotations

from torch import nn

from random_nas.space import Architecture


def build_model(arch: Architecture, in_channels: int, num_classes: int) -> nn.Sequential:
    """Conv-BN-ReLU per layer ("same" padding, so any stride sequence fits any input size),
    global average pooling, the dense hidden layers, a linear classifier."""
    blocks: list[nn.Module] = []
    channels = in_channels
    for layer in arch.layers:
        blocks += [
            nn.Conv2d(
                channels,
                layer.filters,
                layer.kernel_size,
                stride=layer.stride,
                padding=layer.kernel_size // 2,
                bias=False,
            ),
            nn.BatchNorm2d(layer.filters),
            nn.ReLU(inplace=True),
        ]
        channels = layer.filters
    blocks += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    for width in arch.dense:
        blocks += [nn.Linear(channels, width), nn.ReLU(inplace=True)]
        channels = width
    blocks.append(nn.Linear(channels, num_classes))
    return nn.Sequential(*blocks)


def count_parameters(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())
