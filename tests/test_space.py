import pytest

from random_nas.space import Architecture, ConvLayer, SearchSpace

SEED_SPACE = SearchSpace(10, (24, 36, 48, 64), (3, 5, 7), (1, 2))


def test_seed_space_size_is_24_to_the_10th():
    assert SEED_SPACE.size == 24**10 == 63_403_380_965_376


def test_space_size_counts_dense_options():
    space = SearchSpace(2, (8,), (3,), (1, 2), dense_layers=(0, 1, 2), dense_widths=(32, 64, 128))
    assert space.size == 2**2 * (1 + 3 + 9)


def test_small_space_enumerates_every_architecture_once():
    space = SearchSpace(2, (8, 16), (3,), (1, 2), dense_layers=(0, 1), dense_widths=(32, 64))
    archs = [space.decode(index) for index in range(space.size)]
    assert len({arch.arch_id for arch in archs}) == space.size
    assert [space.encode(arch) for arch in archs] == list(range(space.size))


@pytest.mark.parametrize("index", [0, 1, 23, 24, 12_345_678_901, SEED_SPACE.size - 1])
def test_decode_encode_round_trip(index):
    arch = SEED_SPACE.decode(index)
    assert len(arch.layers) == 10
    assert SEED_SPACE.encode(arch) == index


def test_decode_rejects_out_of_range_index():
    with pytest.raises(IndexError):
        SEED_SPACE.decode(SEED_SPACE.size)


def test_encode_rejects_foreign_architecture():
    foreign = Architecture(tuple(ConvLayer(99, 3, 1) for _ in range(10)))
    with pytest.raises(ValueError, match="not in this search space"):
        SEED_SPACE.encode(foreign)


def test_sampling_is_seeded_distinct_and_prefix_stable():
    first = SEED_SPACE.sample_indices(50, seed=7)
    assert first == SEED_SPACE.sample_indices(50, seed=7)
    assert len(set(first)) == 50
    assert SEED_SPACE.sample_indices(80, seed=7)[:50] == first
    assert SEED_SPACE.sample_indices(50, seed=8) != first


@pytest.mark.parametrize(
    "space",
    [
        SearchSpace(2, (8, 16), (3,), (1, 2)),  # 16 architectures
        SearchSpace(3, (8, 16), (3,), (1, 2)),  # 64, the review's example
        SearchSpace(4, (8, 12, 16, 24), (3, 5), (1, 2)),  # 16**4 = 2**16, the largest permuted
        SearchSpace(4, (8, 12, 16, 24), (3, 5), (1, 2), (0, 1), (32,)),  # 2**17, drawn
    ],
    ids=lambda space: f"size{space.size}",
)
def test_sampling_is_prefix_stable_at_every_count(space):
    counts = range(1, min(space.size, 40) + 1)
    draws = {count: space.sample_indices(count, seed=5) for count in counts}
    for count in counts[1:]:
        assert draws[count][:-1] == draws[count - 1], f"draw of {count} in a space of {space.size}"
    if space.size <= 64:
        whole = space.sample_indices(space.size, seed=5)
        assert whole[: counts[-1]] == draws[counts[-1]]
        assert sorted(whole) == list(range(space.size))


def test_sampling_method_depends_on_the_space_not_the_count():
    space = SearchSpace(3, (8, 16), (3,), (1, 2))
    quarter, most = space.sample_indices(15, seed=0), space.sample_indices(16, seed=0)
    assert most[:15] == quarter  # the old code switched method at count * 4 >= size


def test_sampling_a_whole_small_space_gives_every_architecture():
    space = SearchSpace(2, (8, 16), (3,), (1, 2))
    assert sorted(space.sample_indices(space.size, seed=0)) == list(range(space.size))
    with pytest.raises(ValueError, match="cannot sample 17"):
        space.sample_indices(17, seed=0)


def test_sampling_is_roughly_uniform_per_layer_choice():
    archs = SEED_SPACE.sample(2000, seed=1)
    strides = [layer.stride for arch in archs for layer in arch.layers]
    kernels = [layer.kernel_size for arch in archs for layer in arch.layers]
    assert abs(strides.count(2) / len(strides) - 0.5) < 0.02
    assert abs(kernels.count(7) / len(kernels) - 1 / 3) < 0.02


def test_arch_id_is_a_content_hash_independent_of_space():
    arch = SEED_SPACE.decode(42)
    wider = SearchSpace(10, (24, 36, 48, 64, 96), (3, 5, 7), (1, 2))
    assert wider.decode(wider.encode(arch)).arch_id == arch.arch_id
    assert len(arch.arch_id) == 12
    assert Architecture.from_dict(arch.to_dict()) == arch


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"filters": ()}, "filters needs at least one candidate"),
        ({"strides": (1, 1)}, "repeated"),
        ({"num_layers": 0}, "num_layers"),
        ({"dense_layers": (0, 1)}, "dense_widths is empty"),
        ({"kernel_sizes": (3, 4)}, r"kernel_sizes must be odd .* got \[4\]"),
    ],
)
def test_invalid_space_is_rejected_with_the_reason(changes, message):
    fields = {"num_layers": 2, "filters": (8,), "kernel_sizes": (3,), "strides": (1,), **changes}
    with pytest.raises(ValueError, match=message):
        SearchSpace(**fields)
