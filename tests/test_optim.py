import pytest
import torch

from random_nas.optim import SGD, AdamW


def _twin_parameters() -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    generator = torch.Generator().manual_seed(0)
    shapes = [(8, 3, 3, 3), (8,), (10, 8)]
    ours = [torch.randn(shape, generator=generator).requires_grad_() for shape in shapes]
    return ours, [param.detach().clone().requires_grad_() for param in ours]


def _set_gradients(*groups: list[torch.Tensor], step: int) -> None:
    generator = torch.Generator().manual_seed(100 + step)
    gradients = [torch.randn(param.shape, generator=generator) for param in groups[0]]
    for params in groups:
        for param, gradient in zip(params, gradients, strict=True):
            param.grad = gradient.clone()


def _assert_steps_as_torch(make_ours, make_theirs, learning_rates: list[float]) -> None:
    ours, theirs = _twin_parameters()
    optimizer, reference = make_ours(ours), make_theirs(theirs)
    for step, lr in enumerate(learning_rates):
        _set_gradients(ours, theirs, step=step)
        reference.param_groups[0]["lr"] = lr
        reference.step()
        optimizer.step(lr)
        for mine, torchs in zip(ours, theirs, strict=True):
            torch.testing.assert_close(mine, torchs, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    ("momentum", "nesterov", "weight_decay"),
    [(0.9, True, 5e-4), (0.9, False, 0.0), (0.0, False, 1e-2)],
)
def test_sgd_steps_as_torch_optim_sgd(momentum, nesterov, weight_decay):
    settings = {"momentum": momentum, "nesterov": nesterov, "weight_decay": weight_decay}
    _assert_steps_as_torch(
        lambda params: SGD(params, **settings),
        lambda params: torch.optim.SGD(params, lr=0.1, **settings),
        [0.1, 0.05, 0.02, 0.01],
    )


def test_adamw_steps_as_torch_optim_adamw():
    _assert_steps_as_torch(
        lambda params: AdamW(params, weight_decay=0.05),
        lambda params: torch.optim.AdamW(params, lr=1e-3, weight_decay=0.05),
        [1e-3, 2e-3, 5e-4, 1e-4, 1e-3],
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda params: SGD(params, momentum=0.9, nesterov=True, weight_decay=5e-4),
        lambda params: AdamW(params, weight_decay=0.05),
    ],
    ids=["sgd", "adamw"],
)
def test_a_restored_state_steps_exactly_as_the_original(make):
    """What a resumed training relies on: every buffer (SGD's velocity; AdamW's step count,
    first and second moments) survives state_dict / load_state_dict, so the next steps of
    the restored optimiser equal the original's."""
    original, twin = _twin_parameters()
    optimizer = make(original)
    for step in range(2):
        _set_gradients(original, step=step)
        optimizer.step(1e-2)
    with torch.no_grad():
        for mine, copy in zip(original, twin, strict=True):
            copy.copy_(mine)
    restored = make(twin)
    restored.load_state_dict(optimizer.state_dict())
    for step in range(2, 4):
        _set_gradients(original, twin, step=step)
        optimizer.step(5e-3)
        restored.step(5e-3)
    for mine, copy in zip(original, twin, strict=True):
        torch.testing.assert_close(copy, mine, rtol=0, atol=0)
