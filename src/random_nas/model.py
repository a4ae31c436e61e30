"""A CNN built from an architecture's plain description, and what it costs."""

from __future__ import annotations

import torch
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


def count_forward_flops(model: nn.Module, image_shape: tuple[int, int, int]) -> int:
    """Forward FLOPs for one image, as torch.utils.flop_counter counts them (2 per multiply-add
    of a convolution or matrix product; biases, normalisation and activations are free).

    Counted from the output shapes of one forward pass: FlopCounterMode gives the same number
    (a test checks it) but its first use costs about 2 s, which every training job would pay.
    """
    flops = 0

    def count(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal flops
        if isinstance(module, nn.Conv2d):
            kernel_area = module.kernel_size[0] * module.kernel_size[1]
            flops += 2 * output.numel() * (module.in_channels // module.groups) * kernel_area
        elif isinstance(module, nn.Linear):
            flops += 2 * output.numel() * module.in_features

    hooks = [
        module.register_forward_hook(count)
        for module in model.modules()
        if isinstance(module, (nn.Conv2d, nn.Linear))
    ]
    was_training = model.training
    parameter = next(model.parameters())
    image = torch.zeros((1, *image_shape), device=parameter.device)
    try:
        with torch.inference_mode():
            model.eval()(image)
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return flops
