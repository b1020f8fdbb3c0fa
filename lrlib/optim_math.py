"""Adam's and SGD's arithmetic, redone by hand from captured gradients.

PyTorch's optimizers hide their bookkeeping in ``optimizer.state[param]``
(``exp_avg``, ``exp_avg_sq``, ``momentum_buffer``). The functions here take the
gradients a parameter received at each step (captured, say, with a tensor
hook) and recompute, step by step, everything the optimizer computed with
them. The tests check the results against PyTorch's own optimizers, so a
reader can trust these formulas to be *the* formulas, not an approximation.

Conventions shared by every function in this module:

* ``grads`` holds one gradient per step: a sequence of tensors of the
  parameter's shape, or one tensor of shape ``(steps, *param_shape)``.
  Row ``i`` belongs to step ``t = i + 1``.
* ``params`` (only needed for weight decay) holds the parameter's value
  *before* each step, which is what a forward hook sees; same layout.
* Each result is a frozen dataclass of tensors of shape ``(steps, *param_shape)``.
* ``update`` is what the optimizer subtracts: ``param_t = param_{t-1} - update_t``.
  :func:`param_trajectory` turns the updates into the parameter's path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from lrlib._validation import check_number
from lrlib.numerics import exact_sqrt

__all__ = [
    "adam_reference",
    "param_trajectory",
    "sgd_reference",
]


@dataclass(frozen=True)
class AdamTrace:
    """Adam's quantities for one parameter, one row per step.

    Attributes:
        grad: the gradient Adam used, ``g_t`` (weight decay included:
            ``grad + weight_decay * param``).
        exp_avg: first moment ``m_t = beta1 * m_{t-1} + (1 - beta1) * g_t``,
            started at 0; PyTorch's ``state["exp_avg"]``.
        exp_avg_sq: second moment ``v_t = beta2 * v_{t-1} + (1 - beta2) * g_t**2``,
            started at 0; PyTorch's ``state["exp_avg_sq"]``.
        max_exp_avg_sq: running maximum of ``v_t``; PyTorch's
            ``state["max_exp_avg_sq"]`` when ``amsgrad=True``.
        m_hat: bias-corrected first moment ``m_t / (1 - beta1**t)``, the
            smoothed gradient.
        v_hat: bias-corrected second moment ``v_t / (1 - beta2**t)``; with
            ``amsgrad`` the running maximum replaces ``v_t``.
        denominator: ``sqrt(v_hat) + eps``, the gradient's scale.
        adapted_grad: ``m_hat / denominator``, the adapted gradient.
        update: ``lr * adapted_grad``; the learning rate is used as it is.
    """

    grad: Tensor
    exp_avg: Tensor
    exp_avg_sq: Tensor
    max_exp_avg_sq: Tensor
    m_hat: Tensor
    v_hat: Tensor
    denominator: Tensor
    adapted_grad: Tensor
    update: Tensor

    @property
    def steps(self) -> Tensor:
        """The step numbers ``1, 2, ..., T``."""
        return torch.arange(1, len(self.grad) + 1)

    @property
    def scaling(self) -> Tensor:
        """``1 / (sqrt(v_hat) + eps)``: what multiplies ``m_hat``."""
        return 1.0 / self.denominator


@dataclass(frozen=True)
class SGDTrace:
    """SGD's quantities for one parameter, one row per step.

    Attributes:
        grad: the gradient SGD used, ``g_t`` (weight decay included:
            ``grad + weight_decay * param``).
        momentum_buffer: ``b_1 = g_1`` and
            ``b_t = momentum * b_{t-1} + (1 - dampening) * g_t``; PyTorch's
            ``state["momentum_buffer"]`` (which PyTorch does not keep at all when
            ``momentum == 0``).
        update_term: what the learning rate multiplies: ``g_t`` for plain SGD
            (``momentum == 0``), ``b_t`` with momentum, and
            ``g_t + momentum * b_t`` with Nesterov's momentum.
        update: ``lr * update_term``.
    """

    grad: Tensor
    momentum_buffer: Tensor
    update_term: Tensor
    update: Tensor

    @property
    def steps(self) -> Tensor:
        """The step numbers ``1, 2, ..., T``."""
        return torch.arange(1, len(self.grad) + 1)


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #


def _stack(name: str, tensors: Tensor | Sequence[Tensor]) -> Tensor:
    """One row per step, detached from autograd, as a new floating tensor."""
    if isinstance(tensors, Tensor):
        stacked = tensors.detach().clone()
    else:
        tensors = list(tensors)
        if not all(isinstance(t, Tensor) for t in tensors):
            kinds = sorted({type(t).__name__ for t in tensors})
            raise TypeError(f"{name} must hold tensors, got {kinds}")
        shapes = {tuple(t.shape) for t in tensors}
        if len(shapes) > 1:
            raise ValueError(
                f"{name} must all have the same shape, got shapes {sorted(shapes)}"
            )
        stacked = (
            torch.stack([t.detach() for t in tensors]) if tensors else torch.empty(0)
        )
    if stacked.ndim == 0 or len(stacked) == 0:
        raise ValueError(
            f"{name} must hold at least one step, got {tuple(stacked.shape)}"
        )
    if not stacked.is_floating_point():
        raise TypeError(f"{name} must be floating point, got dtype {stacked.dtype}")
    return stacked


def _grad_with_weight_decay(
    grads: Tensor | Sequence[Tensor],
    params: Tensor | Sequence[Tensor] | None,
    weight_decay: float,
) -> Tensor:
    """The gradients as the optimizer uses them: ``grad + weight_decay * param``."""
    grad = _stack("grads", grads)
    if weight_decay == 0:
        return grad
    if params is None:
        raise ValueError(
            f"weight_decay={weight_decay} needs the parameter's value before each "
            "step: pass params (e.g. captured with a forward hook)"
        )
    param = _stack("params", params).to(grad.device, grad.dtype)
    if param.shape != grad.shape:
        raise ValueError(
            f"params must match grads, one row per step: got params of shape "
            f"{tuple(param.shape)} and grads of shape {tuple(grad.shape)}"
        )
    return grad + weight_decay * param


def _per_step(values: Tensor, like: Tensor) -> Tensor:
    """Reshape a ``(steps,)`` tensor so it broadcasts
    against ``(steps, *param_shape)``.
    """
    return values.to(like.device, like.dtype).reshape(-1, *([1] * (like.ndim - 1)))


# --------------------------------------------------------------------------- #
# Adam
# --------------------------------------------------------------------------- #


def adam_reference(
    grads: Tensor | Sequence[Tensor],
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
    params: Tensor | Sequence[Tensor] | None = None,
) -> AdamTrace:
    """Recompute ``torch.optim.Adam``'s moments and updates from captured gradients.

    Shown in chapter 4.

    For each step ``t = 1, 2, ...``::

        g_t     = grad_t + weight_decay * param_{t-1}       (L2 penalty, Adam's style)
        m_t     = beta1 * m_{t-1} + (1 - beta1) * g_t        (m_0 = 0)
        v_t     = beta2 * v_{t-1} + (1 - beta2) * g_t**2     (v_0 = 0)
        m_hat   = m_t / (1 - beta1**t)
        v_hat   = v_t / (1 - beta2**t)      (amsgrad: max(v_1..v_t) / (1 - beta2**t))
        adapted = m_hat / (sqrt(v_hat) + eps)
        param_t = param_{t-1} - lr * adapted

    The arguments have the same names and defaults as ``torch.optim.Adam``'s.
    AdamW's decoupled weight decay is not covered.

    Args:
        grads: the parameter's gradient at each step (see the module's conventions).
        lr: learning rate, >= 0.
        betas: ``(beta1, beta2)``, each in [0, 1).
        eps: added to the denominator, >= 0.
        weight_decay: L2 penalty, >= 0. When nonzero, ``params`` is
            required (otherwise it is ignored).
        amsgrad: use the running maximum of ``v_t`` in the denominator.
        params: the parameter's value before each step, same layout as ``grads``.

    Returns:
        An :class:`AdamTrace`; ``trace.exp_avg[t - 1]`` equals
        ``optimizer.state[param]["exp_avg"]`` after step ``t``.

    Raises:
        TypeError: a hyperparameter is not a real number, or ``grads`` is not
            a floating tensor (or sequence of them).
        ValueError: a hyperparameter is out of range, ``grads`` is empty or
            ragged, or ``params`` is missing or does not match ``grads``.

    Example:
        >>> trace = adam_reference([torch.tensor([2.0]), torch.tensor([2.0])], lr=0.1)
        >>> trace.m_hat.flatten().tolist()  # bias correction removes the start at 0
        [2.0, 2.0]
        >>> # about lr * sign(grad)
        >>> [round(u, 6) for u in trace.update.flatten().tolist()]
        [0.1, 0.1]
    """
    lr = check_number("lr", lr, low=0)
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    beta1 = check_number("betas[0]", betas[0], low=0, high=1, include_high=False)
    beta2 = check_number("betas[1]", betas[1], low=0, high=1, include_high=False)
    eps = check_number("eps", eps, low=0)
    weight_decay = check_number("weight_decay", weight_decay, low=0)
    grad = _grad_with_weight_decay(grads, params, weight_decay)

    # The moments are running averages: one step at a time.
    exp_avg = torch.empty_like(grad)
    exp_avg_sq = torch.empty_like(grad)
    max_exp_avg_sq = torch.empty_like(grad)
    m = torch.zeros_like(grad[0])
    v = torch.zeros_like(grad[0])
    v_max = torch.zeros_like(grad[0])
    for i, g in enumerate(grad):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = torch.maximum(v_max, v)
        exp_avg[i], exp_avg_sq[i], max_exp_avg_sq[i] = m, v, v_max

    # Everything else is a formula of the step number t: all steps at once.
    # (The corrections are computed in float64, as PyTorch does with Python floats.)
    t = torch.arange(1, len(grad) + 1, dtype=torch.float64)
    correction1 = _per_step(1 - beta1**t, like=grad)
    correction2 = _per_step(1 - beta2**t, like=grad)
    m_hat = exp_avg / correction1
    v_hat = (max_exp_avg_sq if amsgrad else exp_avg_sq) / correction2
    denominator = (
        exact_sqrt(v_hat) + eps
    )  # correctly rounded on every CPU (lrlib.numerics)
    adapted_grad = m_hat / denominator
    return AdamTrace(
        grad=grad,
        exp_avg=exp_avg,
        exp_avg_sq=exp_avg_sq,
        max_exp_avg_sq=max_exp_avg_sq,
        m_hat=m_hat,
        v_hat=v_hat,
        denominator=denominator,
        adapted_grad=adapted_grad,
        update=lr * adapted_grad,
    )


# --------------------------------------------------------------------------- #
# SGD, with momentum and Nesterov
# --------------------------------------------------------------------------- #


def sgd_reference(
    grads: Tensor | Sequence[Tensor],
    *,
    lr: float = 1e-3,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    params: Tensor | Sequence[Tensor] | None = None,
) -> SGDTrace:
    """Recompute ``torch.optim.SGD``'s momentum buffer
    and updates from captured gradients.

    Shown in chapter 5.

    For each step ``t = 1, 2, ...``::

        g_t = grad_t + weight_decay * param_{t-1}
        b_1 = g_1                                         (no dampening on step 1)
        b_t = momentum * b_{t-1} + (1 - dampening) * g_t
        update term = g_t                    plain SGD (momentum == 0)
                    = b_t                    momentum
                    = g_t + momentum * b_t   Nesterov
        param_t = param_{t-1} - lr * update term

    With ``dampening = 0`` the buffer is a discounted running *sum* of
    gradients; with ``dampening = momentum`` it is an EWMA of the gradients that
    starts from the first gradient (``moving_averages.ewma_beta(...,
    initial=None)``).

    Args:
        grads: the parameter's gradient at each step (see the module's conventions).
        lr: learning rate, >= 0.
        momentum: the weight of the previous buffer, in [0, 1).
        dampening: ``1 - dampening`` weighs the new gradient, in [0, 1].
        weight_decay: L2 penalty, >= 0. When nonzero, ``params`` is
            required (otherwise it is ignored).
        nesterov: use Nesterov's momentum; like PyTorch, it needs
            ``momentum > 0`` and ``dampening == 0``.
        params: the parameter's value before each step, same layout as ``grads``.

    Returns:
        An :class:`SGDTrace`; ``trace.momentum_buffer[t - 1]`` equals
        ``optimizer.state[param]["momentum_buffer"]`` after step ``t``.

    Raises:
        TypeError: a hyperparameter is not a real number, or ``grads`` is not
            a floating tensor (or sequence of them).
        ValueError: a hyperparameter is out of range, Nesterov without momentum
            or with dampening, ``grads`` is empty or ragged, or ``params`` is
            missing or does not match ``grads``.

    Example:
        >>> g = [torch.tensor(1.0)] * 3
        >>> sgd_reference(g, lr=0.1, momentum=0.5).momentum_buffer.tolist()
        [1.0, 1.5, 1.75]
        >>> trace = sgd_reference(g, lr=0.1, momentum=0.5, dampening=0.5)
        >>> trace.momentum_buffer.tolist()
        [1.0, 1.0, 1.0]
    """
    lr = check_number("lr", lr, low=0)
    momentum = check_number("momentum", momentum, low=0, high=1, include_high=False)
    dampening = check_number("dampening", dampening, low=0, high=1)
    weight_decay = check_number("weight_decay", weight_decay, low=0)
    if nesterov and (momentum == 0 or dampening != 0):
        raise ValueError(
            "Nesterov momentum needs momentum > 0 and dampening == 0, "
            f"got momentum={momentum} and dampening={dampening}"
        )
    grad = _grad_with_weight_decay(grads, params, weight_decay)

    momentum_buffer = torch.empty_like(grad)
    buf = grad[0].clone()  # PyTorch's first step copies the gradient, undampened
    momentum_buffer[0] = buf
    for i in range(1, len(grad)):
        buf = momentum * buf + (1 - dampening) * grad[i]
        momentum_buffer[i] = buf

    if momentum == 0:
        update_term = grad
    elif nesterov:
        update_term = grad + momentum * momentum_buffer
    else:
        update_term = momentum_buffer
    return SGDTrace(
        grad=grad,
        momentum_buffer=momentum_buffer,
        update_term=update_term,
        update=lr * update_term,
    )


# --------------------------------------------------------------------------- #
# From updates to the path of the parameter
# --------------------------------------------------------------------------- #


def param_trajectory(initial: Tensor, updates: Tensor | Sequence[Tensor]) -> Tensor:
    """The parameter's value before the first step and after each step.

    Shown in chapter 5.

    ``path[0] = initial`` and ``path[t] = path[t - 1] - updates[t - 1]``.

    Args:
        initial: the parameter's value before the first step.
        updates: ``trace.update`` of :func:`adam_reference` or
            :func:`sgd_reference`, one row per step.

    Returns:
        A tensor of shape ``(steps + 1, *param_shape)``.

    Raises:
        ValueError: ``initial``'s shape differs from one row of ``updates``.

    Example:
        >>> param_trajectory(torch.tensor(1.0), torch.tensor([0.5, 0.25])).tolist()
        [1.0, 0.5, 0.25]
    """
    update = _stack("updates", updates)
    start = initial.detach().to(update.device, update.dtype)
    if start.shape != update.shape[1:]:
        raise ValueError(
            f"initial must have the shape of one update, {tuple(update.shape[1:])}, "
            f"got {tuple(start.shape)}"
        )
    path = torch.empty(
        (len(update) + 1, *start.shape), dtype=update.dtype, device=update.device
    )
    path[0] = start
    for t in range(1, len(path)):
        path[t] = path[t - 1] - update[t - 1]
    return path
