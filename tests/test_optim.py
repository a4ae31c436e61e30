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


def test_state_round_trips():
    ours, _ = _twin_parameters()
    optimizer = AdamW(ours, weight_decay=0.0)
    _set_gradients(ours, step=0)
    optimizer.step(1e-3)
    restored = AdamW(ours, weight_decay=0.0)
    restored.load_state_dict(optimizer.state_dict())
    assert restored.steps == 1
    torch.testing.assert_close(restored.square, optimizer.square)
