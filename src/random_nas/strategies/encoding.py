"""An architecture as a flat mapping of categorical settings, the form Syne Tune's and Optuna's
searchers work on: `layer_01_filters`, `layer_01_kernel_size`, `layer_01_stride`, ...,
`dense_layers` and `dense_01_width`, ... (the results table's column names). A setting with
one candidate is a constant. Stdlib only."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from random_nas.space import Architecture, ConvLayer, SearchSpace

LAYER_ATTRIBUTES = ("filters", "kernel_size", "stride")


def choices(space: SearchSpace) -> dict[str, tuple[Any, ...]]:
    """Every setting of the space and its candidates, in a fixed order."""
    candidates = {
        "filters": space.filters,
        "kernel_size": space.kernel_sizes,
        "stride": space.strides,
    }
    settings: dict[str, tuple[Any, ...]] = {}
    for number in range(1, space.num_layers + 1):
        for attribute in LAYER_ATTRIBUTES:
            settings[f"layer_{number:02d}_{attribute}"] = tuple(candidates[attribute])
    settings["dense_layers"] = tuple(space.dense_layers)
    for number in range(1, max(space.dense_layers) + 1):
        settings[f"dense_{number:02d}_width"] = tuple(space.dense_widths)
    return settings


def to_settings(space: SearchSpace, arch: Architecture) -> dict[str, Any]:
    """The architecture's settings (widths of dense layers it lacks at their first candidate)."""
    settings: dict[str, Any] = {}
    for number, layer in enumerate(arch.layers, start=1):
        for attribute in LAYER_ATTRIBUTES:
            settings[f"layer_{number:02d}_{attribute}"] = getattr(layer, attribute)
    settings["dense_layers"] = len(arch.dense)
    for number in range(1, max(space.dense_layers) + 1):
        widths = arch.dense
        settings[f"dense_{number:02d}_width"] = (
            widths[number - 1] if number <= len(widths) else space.dense_widths[0]
        )
    return settings


def from_settings(space: SearchSpace, settings: dict[str, Any]) -> Architecture:
    """The architecture a mapping of settings describes (checked against the space)."""
    layers = tuple(
        ConvLayer(
            int(settings[f"layer_{number:02d}_filters"]),
            int(settings[f"layer_{number:02d}_kernel_size"]),
            int(settings[f"layer_{number:02d}_stride"]),
        )
        for number in range(1, space.num_layers + 1)
    )
    count = int(settings["dense_layers"])
    dense = tuple(int(settings[f"dense_{number:02d}_width"]) for number in range(1, count + 1))
    arch = Architecture(layers=layers, dense=dense)
    space.encode(arch)  # raises where it is not in the space
    return arch


def neighbours(space: SearchSpace, arch: Architecture) -> list[Architecture]:
    """Every architecture one setting away (one attribute of one layer, the number of dense
    layers, or one dense width), in the order of `choices`."""
    current = to_settings(space, arch)
    found: dict[str, Architecture] = {}
    for name, candidates in choices(space).items():
        for value in candidates:
            if value != current[name]:
                other = from_settings(space, {**current, name: value})
                if other != arch:
                    found.setdefault(other.arch_id, other)
    return list(found.values())


def distance(space: SearchSpace, first: Architecture, second: Architecture) -> int:
    """How many settings two architectures differ in."""
    one, two = _setting_values(space, first), _setting_values(space, second)
    return sum(mine != theirs for mine, theirs in zip(one, two, strict=True))


# A search measures distances between the same few hundred architectures again and again.
@lru_cache(maxsize=1 << 16)
def _setting_values(space: SearchSpace, arch: Architecture) -> tuple[Any, ...]:
    return tuple(to_settings(space, arch).values())
