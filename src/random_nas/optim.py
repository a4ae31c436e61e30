"""SGD and AdamW as torch.optim computes them, in a few multi-tensor ops.

torch.optim's optimizers import torch._dynamo when they are built: about 2 s on a small CPU,
paid by every training job before its first step. These two updates are short enough to own;
tests check them step for step against torch.optim.SGD and torch.optim.AdamW.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


class _Optimizer:
    def __init__(self, params: Iterable[torch.Tensor]) -> None:
        self.params = list(params)

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """What torch.amp.GradScaler reads to unscale gradients (fp16)."""
        return [{"params": self.params}]


class SGD(_Optimizer):
    """SGD with momentum (Nesterov optional, no dampening) and L2 weight decay."""

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        momentum: float,
        nesterov: bool,
        weight_decay: float,
    ) -> None:
        super().__init__(params)
        self.momentum, self.nesterov, self.weight_decay = momentum, nesterov, weight_decay
        self.velocity: list[torch.Tensor] = []

    @torch.no_grad()
    def step(self, lr: float) -> None:
        grads = [param.grad for param in self.params]
        if self.weight_decay:
            grads = torch._foreach_add(grads, self.params, alpha=self.weight_decay)
        if self.momentum:
            if not self.velocity:
                self.velocity = [grad.clone() for grad in grads]
            else:
                torch._foreach_mul_(self.velocity, self.momentum)
                torch._foreach_add_(self.velocity, grads)
            if self.nesterov:
                grads = torch._foreach_add(grads, self.velocity, alpha=self.momentum)
            else:
                grads = self.velocity
        torch._foreach_add_(self.params, grads, alpha=-lr)

    def state_dict(self) -> dict[str, Any]:
        return {"velocity": self.velocity}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        # Copies: the buffers are updated in place, and must not alias the saved ones.
        self.velocity = [tensor.clone() for tensor in state["velocity"]]


class AdamW(_Optimizer):
    """Adam with decoupled weight decay (betas 0.9, 0.999; eps 1e-8, torch's defaults)."""

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        weight_decay: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params)
        self.weight_decay, self.betas, self.eps = weight_decay, betas, eps
        self.steps = 0
        self.mean = [torch.zeros_like(param) for param in self.params]
        self.square = [torch.zeros_like(param) for param in self.params]

    @torch.no_grad()
    def step(self, lr: float) -> None:
        grads = [param.grad for param in self.params]
        beta1, beta2 = self.betas
        self.steps += 1
        torch._foreach_mul_(self.params, 1 - lr * self.weight_decay)
        torch._foreach_lerp_(self.mean, grads, 1 - beta1)
        torch._foreach_mul_(self.square, beta2)
        torch._foreach_addcmul_(self.square, grads, grads, 1 - beta2)
        bias_correction1 = 1 - beta1**self.steps
        bias_correction2 = 1 - beta2**self.steps
        denominator = torch._foreach_sqrt(self.square)
        torch._foreach_div_(denominator, bias_correction2**0.5)
        torch._foreach_add_(denominator, self.eps)
        torch._foreach_addcdiv_(self.params, self.mean, denominator, -lr / bias_correction1)

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "mean": self.mean, "square": self.square}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        # Copies: the buffers are updated in place, and must not alias the saved ones.
        self.steps = state["steps"]
        self.mean = [tensor.clone() for tensor in state["mean"]]
        self.square = [tensor.clone() for tensor in state["square"]]
