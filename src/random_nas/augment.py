"""Batches as a training sees them: normalised with the dataset's statistics, and augmented on
the training device, a whole batch at once (random crops by translation, mirrored images)."""

from __future__ import annotations

import torch

from random_nas.data import Splits


def normalize(images: torch.Tensor, splits: Splits, device: torch.device) -> torch.Tensor:
    mean = torch.tensor(splits.mean, device=device).view(1, -1, 1, 1)
    std = torch.tensor(splits.std, device=device).view(1, -1, 1, 1)
    scaled = images.to(device, non_blocking=True).float().div_(255)
    return ((scaled - mean) / std).contiguous(memory_format=torch.channels_last)


def augment_batch(
    images: torch.Tensor,
    padding: int,
    flip: bool,
    generator: torch.Generator,
    fill: torch.Tensor | None = None,
) -> torch.Tensor:
    """Random translation by up to `padding` pixels and optional mirroring.

    The uncovered border takes `fill`, one value per channel: for normalised images, the
    normalised value of black, so that a translated image shows a black frame, as a real
    shifted photograph or digit would, and not the dataset's mean grey (zero after
    normalisation)."""
    batch, channels, height, width = images.shape
    device = images.device
    if padding:
        fill = torch.zeros(channels, device=device) if fill is None else fill
        padded = (
            fill.to(images.dtype)
            .view(1, channels, 1, 1)
            .expand(batch, channels, height + 2 * padding, width + 2 * padding)
            .clone()
        )
        padded[:, :, padding : padding + height, padding : padding + width] = images
        offsets = torch.randint(0, 2 * padding + 1, (2, batch), device=device, generator=generator)
        rows = (offsets[0, :, None] + torch.arange(height, device=device))[:, None, :, None]
        cols = (offsets[1, :, None] + torch.arange(width, device=device))[:, None, None, :]
        images = padded[
            torch.arange(batch, device=device)[:, None, None, None],
            torch.arange(images.shape[1], device=device)[None, :, None, None],
            rows,
            cols,
        ]
    if flip:
        mirrored = torch.rand(batch, device=device, generator=generator) < 0.5
        images = torch.where(mirrored[:, None, None, None], images.flip(3), images)
    return images.contiguous(memory_format=torch.channels_last)
