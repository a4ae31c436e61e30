import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from random_nas.model import build_model, count_parameters
from random_nas.space import Architecture, ConvLayer, SearchSpace


@pytest.mark.parametrize(("channels", "size"), [(1, 28), (3, 32)])
@pytest.mark.parametrize("stride", [1, 2])
def test_any_stride_sequence_fits_any_input(channels, size, stride):
    arch = Architecture(tuple(ConvLayer(24, 7, stride) for _ in range(10)), dense=(32,))
    model = build_model(arch, channels, 10)
    assert model(torch.zeros(2, channels, size, size)).shape == (2, 10)


def test_model_follows_the_architecture():
    arch = SearchSpace(10, (24, 36, 48, 64), (3, 5, 7), (1, 2)).decode(987_654_321)
    convs = [module for module in build_model(arch, 1, 10) if isinstance(module, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [
        (layer.filters, layer.kernel_size, layer.stride) for layer in arch.layers
    ]


def test_params_and_flops_match_a_hand_count():
    arch = Architecture((ConvLayer(4, 3, 1), ConvLayer(8, 3, 2)), dense=(16,))
    model = build_model(arch, 1, 10)
    conv_params = 1 * 4 * 9 + 4 * 8 * 9
    bn_params = 2 * (4 + 8)
    dense_params = 8 * 16 + 16 + 16 * 10 + 10
    assert count_parameters(model) == conv_params + bn_params + dense_params
    conv_flops = 2 * (4 * 9 * 28 * 28 + 4 * 8 * 9 * 14 * 14)
    linear_flops = 2 * (8 * 16 + 16 * 10)
    assert arch.forward_flops((1, 28, 28), 10) == conv_flops + linear_flops


@pytest.mark.parametrize(("channels", "size"), [(1, 28), (3, 32)])
def test_flops_are_what_torch_flop_counter_counts(channels, size):
    space = SearchSpace(10, (24, 36, 48, 64), (3, 5, 7), (1, 2), (0, 2), (32, 128))
    archs = space.sample(6, seed=1)
    assert {len(arch.dense) for arch in archs} == {0, 2}
    for arch in archs:
        model = build_model(arch, channels, 10)
        with FlopCounterMode(display=False) as counter:
            model.eval()(torch.zeros(1, channels, size, size))
        assert arch.forward_flops((channels, size, size), 10) == counter.get_total_flops()
