"""Recording the gradients and parameters of chosen layers while a model trains.

Two kinds of PyTorch hooks do the recording:

* a *tensor hook* on a parameter (``param.register_hook(fn)``): autograd calls
  ``fn(grad)`` during every backward pass with the gradient of the loss with
  respect to that parameter. Our hook stores a copy and returns ``None``, which
  tells autograd to use the gradient unchanged;
* an *optimizer step post-hook* (``optimizer.register_step_post_hook(fn)``):
  called after every ``optimizer.step()``, so it sees each update of the
  weights. Validation never steps the optimizer, so nothing is recorded there.

Hooks stay attached until removed, and a forgotten hook keeps recording (and
holding memory) long after it was needed. So both recorders here are context
managers: the hooks exist only inside the ``with`` block and are removed when
it ends, even when training inside it fails.

Layers are named as in ``model.named_modules()``, e.g. ``"featurizer.conv1"``;
the recorded entries are named as in ``model.named_parameters()``, e.g.
``"featurizer.conv1.weight"``.

Example:
    >>> model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    >>> with record_gradients(model, ["0"]) as grads:
    ...     model(torch.ones(4, 2)).sum().backward()
    >>> sorted(grads), len(grads["0.weight"])
    (['0.bias', '0.weight'], 1)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer

__all__ = ["layer_parameters", "record_gradients", "record_parameters"]


def layer_parameters(
    model: nn.Module, layers: str | Sequence[str]
) -> dict[str, nn.Parameter]:
    """Return the parameters of the named layers (and of their sublayers).

    Args:
        model: the model.
        layers: one layer name or several, as in ``model.named_modules()``.

    Returns:
        A dict from full parameter name (``"fc1.weight"``) to parameter.

    Raises:
        TypeError: ``layers`` is not a string or a sequence of strings.
        ValueError: a name is not a layer of the model, or the layer has no
            parameters (like ``nn.ReLU``, or a function such as ``F.relu`` called
            inside ``forward``, which is not a layer at all).

    Example:
        >>> model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
        >>> list(layer_parameters(model, "0"))
        ['0.weight', '0.bias']
    """
    names = [layers] if isinstance(layers, str) else list(layers)
    if not names or not all(isinstance(name, str) for name in names):
        raise TypeError(
            f"layers must be a layer name or a non-empty list of names, got {layers!r}"
        )
    modules = dict(model.named_modules())
    parameters: dict[str, nn.Parameter] = {}
    for name in names:
        if name not in modules:
            known = [n for n in modules if n]
            raise ValueError(f"the model has no layer {name!r}; its layers are {known}")
        found = dict(modules[name].named_parameters(prefix=name))
        if not found:
            raise ValueError(
                f"layer {name!r} ({type(modules[name]).__name__}) "
                "has no parameters to record"
            )
        parameters.update(found)
    return parameters


@contextmanager
def record_gradients(
    model: nn.Module, layers: str | Sequence[str]
) -> Iterator[dict[str, list[torch.Tensor]]]:
    """Record the gradient of every parameter of the chosen layers
    at every backward pass.

    Args:
        model: the model.
        layers: the layer name(s), as in ``model.named_modules()``.

    Yields:
        A dict from parameter name to a list that grows by one detached copy of
        the gradient per backward pass (on the parameter's device).

    Raises:
        ValueError: see :func:`layer_parameters`; or a parameter is frozen
            (``requires_grad=False``), so it has no gradient.

    Example:
        >>> # needs a model and data
        >>> with record_gradients(model, ["classifier.fc1"]) as grads:  # doctest: +SKIP
        ...     trainer.fit(1)
        >>> len(grads["classifier.fc1.weight"])  # one per mini-batch  # doctest: +SKIP
    """
    parameters = layer_parameters(model, layers)
    frozen = [name for name, p in parameters.items() if not p.requires_grad]
    if frozen:
        raise ValueError(
            f"parameters {frozen} are frozen (requires_grad=False): "
            "they get no gradients"
        )
    gradients: dict[str, list[torch.Tensor]] = {name: [] for name in parameters}
    handles = []
    try:
        for name, parameter in parameters.items():
            handles.append(
                parameter.register_hook(partial(_store_gradient, gradients[name]))
            )
        yield gradients
    finally:
        for handle in handles:
            handle.remove()


def _store_gradient(store: list[torch.Tensor], grad: torch.Tensor) -> None:
    store.append(grad.detach().clone())  # returning None leaves the gradient unchanged


@contextmanager
def record_parameters(
    model: nn.Module, optimizer: Optimizer, layers: str | Sequence[str]
) -> Iterator[dict[str, list[torch.Tensor]]]:
    """Record the parameters of the chosen layers after every optimizer step.

    Args:
        model: the model.
        optimizer: the optimizer that updates it.
        layers: the layer name(s), as in ``model.named_modules()``.

    Yields:
        A dict from parameter name to a list that grows by one detached copy of
        the parameter per ``optimizer.step()``. The values before the first step
        are not included: copy them before the block if you need them.

    Raises:
        ValueError: see :func:`layer_parameters`.

    Example:
        >>> # needs a model and data
        >>> layer = "classifier.fc2"
        >>> with record_parameters(model, optimizer, layer) as params:  # doctest: +SKIP
        ...     trainer.fit(2)
    """
    parameters = layer_parameters(model, layers)
    snapshots: dict[str, list[torch.Tensor]] = {name: [] for name in parameters}

    def store_parameters(optimizer: Optimizer, args: Any, kwargs: Any) -> None:
        for name, parameter in parameters.items():
            snapshots[name].append(parameter.detach().clone())

    handle = optimizer.register_step_post_hook(store_parameters)
    try:
        yield snapshots
    finally:
        handle.remove()
