"""The search space: candidate values per hyper-parameter, and the architectures it holds.

An architecture is a plain data description (no torch here), so the workflow can sample and
name candidates at parse time without paying for a torch import.

Every architecture has an index in 0 .. size-1 (a mixed-radix number over the per-layer
choices), so the space can be enumerated, sampled uniformly without duplicates, and an
architecture encoded back to its index.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ARCH_ID_LENGTH = 12
# Spaces up to this size are sampled as a prefix of one seeded permutation of the whole space;
# larger ones by drawing indices and skipping repeats. Both make every draw of n the first n of
# a draw of n + 1, and the method depends on the space alone, never on how many are drawn.
PERMUTATION_LIMIT = 2**16


@dataclass(frozen=True)
class ConvLayer:
    filters: int
    kernel_size: int
    stride: int

    def to_dict(self) -> dict[str, int]:
        return {"filters": self.filters, "kernel_size": self.kernel_size, "stride": self.stride}


@dataclass(frozen=True)
class Architecture:
    layers: tuple[ConvLayer, ...]
    dense: tuple[int, ...] = ()

    @property
    def arch_id(self) -> str:
        """A short content hash: the same architecture has the same id in every run and space."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:ARCH_ID_LENGTH]

    def forward_flops(self, image_shape: tuple[int, int, int], num_classes: int) -> int:
        """Forward FLOPs for one image of `image_shape` (channels, height, width) through the
        model that random_nas.model builds, as torch.utils.flop_counter counts them: 2 per
        multiply-add of a convolution or matrix product; biases, normalisation, activations
        and pooling are free. Known without torch, so the workflow can order jobs by cost."""
        channels, height, width = image_shape
        flops = 0
        for layer in self.layers:
            # "same" padding with an odd kernel: the output is ceil(input / stride).
            height, width = -(-height // layer.stride), -(-width // layer.stride)
            flops += 2 * height * width * layer.filters * channels * layer.kernel_size**2
            channels = layer.filters
        for width_out in (*self.dense, num_classes):
            flops += 2 * channels * width_out
            channels = width_out
        return flops

    def __str__(self) -> str:
        """Compact: filters, kernel and stride per conv layer, e.g. `24k3s2 36k5s1 | dense 128`."""
        convs = " ".join(
            f"{layer.filters}k{layer.kernel_size}s{layer.stride}" for layer in self.layers
        )
        return convs + (f" | dense {' '.join(map(str, self.dense))}" if self.dense else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "layers": [layer.to_dict() for layer in self.layers],
            "dense": list(self.dense),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Architecture:
        layers = tuple(
            ConvLayer(int(layer["filters"]), int(layer["kernel_size"]), int(layer["stride"]))
            for layer in data["layers"]
        )
        return cls(layers=layers, dense=tuple(int(width) for width in data.get("dense", ())))


@dataclass(frozen=True)
class SearchSpace:
    """Per-layer candidates for `num_layers` conv layers, then optional dense hidden layers.

    `dense_layers` lists the candidate numbers of dense hidden layers (``(0,)``: none), and
    each dense layer picks its width from `dense_widths`.
    """

    num_layers: int
    filters: tuple[int, ...]
    kernel_sizes: tuple[int, ...]
    strides: tuple[int, ...]
    dense_layers: tuple[int, ...] = (0,)
    dense_widths: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        problems = []
        if self.num_layers < 1:
            problems.append(f"num_layers must be at least 1, got {self.num_layers}")
        for name in ("filters", "kernel_sizes", "strides", "dense_layers"):
            values = getattr(self, name)
            if not values:
                problems.append(f"{name} needs at least one candidate")
            elif len(set(values)) != len(values):
                problems.append(f"{name} has repeated candidates: {list(values)}")
        even = [size for size in self.kernel_sizes if size % 2 == 0]
        if even:
            problems.append(
                f"kernel_sizes must be odd ('same' padding needs a centre pixel), got {even}"
            )
        if any(count > 0 for count in self.dense_layers) and not self.dense_widths:
            problems.append("dense_layers allows dense layers but dense_widths is empty")
        if problems:
            raise ValueError("invalid search space: " + "; ".join(problems))

    @classmethod
    def from_config(cls, search_space: Mapping[str, Any]) -> SearchSpace:
        return cls(
            num_layers=int(search_space["num_layers"]),
            filters=tuple(search_space["filters"]),
            kernel_sizes=tuple(search_space["kernel_sizes"]),
            strides=tuple(search_space["strides"]),
            dense_layers=tuple(search_space.get("dense_layers", (0,))),
            dense_widths=tuple(search_space.get("dense_widths", ())),
        )

    @property
    def choices_per_layer(self) -> int:
        return len(self.filters) * len(self.kernel_sizes) * len(self.strides)

    @property
    def conv_size(self) -> int:
        return self.choices_per_layer**self.num_layers

    def _dense_sizes(self) -> list[int]:
        return [len(self.dense_widths) ** count for count in self.dense_layers]

    @property
    def size(self) -> int:
        """The number of distinct architectures in the space."""
        return self.conv_size * sum(self._dense_sizes())

    def decode(self, index: int) -> Architecture:
        conv_size, choices = self.conv_size, self.choices_per_layer
        num_filters, num_kernels = len(self.filters), len(self.kernel_sizes)
        if not 0 <= index < self.size:
            raise IndexError(f"architecture index {index} outside 0..{self.size - 1}")
        conv_index, dense_index = index % conv_size, index // conv_size
        layers = []
        for _ in range(self.num_layers):
            conv_index, choice = divmod(conv_index, choices)
            choice, filters = divmod(choice, num_filters)
            stride, kernel = divmod(choice, num_kernels)
            layers.append(
                ConvLayer(self.filters[filters], self.kernel_sizes[kernel], self.strides[stride])
            )
        dense_sizes, group = self._dense_sizes(), 0
        while dense_index >= dense_sizes[group]:
            dense_index -= dense_sizes[group]
            group += 1
        widths = []
        for _ in range(self.dense_layers[group]):
            dense_index, width = divmod(dense_index, len(self.dense_widths))
            widths.append(self.dense_widths[width])
        return Architecture(layers=tuple(layers), dense=tuple(widths))

    def encode(self, arch: Architecture) -> int:
        if len(arch.layers) != self.num_layers:
            raise ValueError(
                f"architecture has {len(arch.layers)} layers, space has {self.num_layers}"
            )
        try:
            conv_index = 0
            for layer in reversed(arch.layers):
                choice = (
                    self.strides.index(layer.stride) * len(self.kernel_sizes)
                    + self.kernel_sizes.index(layer.kernel_size)
                ) * len(self.filters) + self.filters.index(layer.filters)
                conv_index = conv_index * self.choices_per_layer + choice
            count_position = self.dense_layers.index(len(arch.dense))
            dense_index = sum(self._dense_sizes()[:count_position])
            widths_index = 0
            for width in reversed(arch.dense):
                widths_index = widths_index * len(self.dense_widths) + self.dense_widths.index(
                    width
                )
        except ValueError as error:
            raise ValueError(f"architecture is not in this search space: {error}") from None
        return conv_index + self.conv_size * (dense_index + widths_index)

    def sample_indices(self, count: int, seed: int) -> list[int]:
        """`count` distinct indices drawn uniformly, in draw order; the same for the same seed,
        and prefix-stable: the draw of `count` starts with the draw of any smaller count."""
        if not 1 <= count <= self.size:
            raise ValueError(f"cannot sample {count} architectures from a space of {self.size}")
        rng = random.Random(seed)
        if self.size <= PERMUTATION_LIMIT:
            permutation = list(range(self.size))
            rng.shuffle(permutation)
            return permutation[:count]
        drawn: dict[int, None] = {}
        while len(drawn) < count:
            drawn[rng.randrange(self.size)] = None
        return list(drawn)

    def sample(self, count: int, seed: int) -> list[Architecture]:
        return [self.decode(index) for index in self.sample_indices(count, seed)]


def architecture_record(space: SearchSpace, index: int, seed: int, draw: int) -> dict[str, Any]:
    """The contents of an architecture file (see README, "File contracts")."""
    arch = space.decode(index)
    return {
        "arch_id": arch.arch_id,
        "index": index,
        "draw": draw,
        "seed": seed,
        "space_size": space.size,
        **arch.to_dict(),
    }


def sampled_records(space: SearchSpace, count: int, seed: int) -> list[dict[str, Any]]:
    """The architecture files of a run's draw of `count` candidates, in draw order."""
    return [
        architecture_record(space, index, seed, draw)
        for draw, index in enumerate(space.sample_indices(count, seed))
    ]
