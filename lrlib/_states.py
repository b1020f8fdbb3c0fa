"""Copying, capturing and checking the state of a training run (private).

The trainer rolls an interrupted epoch back, the range test leaves a model
and its optimizer as it found them, and a checkpoint resumes a run exactly.
All three need the same few tools, kept here:

* :func:`copy_state` copies a (nested) state dict away from the live tensors;
* :func:`capture_rng_state` and :func:`restore_rng_state` save and put back
  every random number generator training may draw from, data-loader
  generators included (:func:`loader_generators`); :func:`check_rng_state`
  checks a saved one without changing anything;
* :func:`trainer_state_problems` lists every way in which a saved trainer
  state (:meth:`lrlib.training.Trainer.state_dict`, maybe read from a
  checkpoint file) does not fit a trainer, so that loading is all or nothing.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim import Optimizer

from lrlib._validation import check_int
from lrlib.device import mps_available

__all__ = [
    "capture_rng_state",
    "check_rng_state",
    "copy_state",
    "loader_generators",
    "restore_rng_state",
    "trainer_state_problems",
]

_RNG_KEYS = ("torch", "cuda", "mps", "numpy", "python", "generators")

_STATE_KEYS = (
    "model",
    "optimizer",
    "scheduler",
    "scheduler_class",
    "epoch",
    "history",
    "rng",
)
"""The entries every trainer state holds."""

_OPTIONAL_KEYS = ("optimizer_class", "trainer")
"""Entries added later: states saved before them are checked without them."""


def copy_state(state: Any, device: torch.device | str = "cpu") -> Any:
    """Return a deep copy of a (nested) state dict,
    its tensors detached and moved to ``device``.

    ``module.state_dict()`` and ``optimizer.state_dict()`` hold the live
    tensors, which the next training step changes in place; this copy does not
    change with them. Dicts, lists and tuples are copied level by level; other
    values are copied with :func:`copy.deepcopy`.

    Args:
        state: a tensor, or dicts, lists and tuples holding tensors and plain values.
        device: where the copied tensors go. Default: the CPU, which leaves the
            accelerator's memory free.

    Returns:
        The copy.

    Example:
        >>> model = torch.nn.Linear(2, 1)
        >>> saved = copy_state(model.state_dict())
        >>> _ = torch.nn.init.zeros_(model.bias)
        >>> saved["bias"].data_ptr() != model.bias.data_ptr()
        True
    """
    if isinstance(state, torch.Tensor):
        return state.detach().to(device, copy=True)
    if isinstance(state, dict):
        copied = type(state)(
            (key, copy_state(value, device)) for key, value in state.items()
        )
        if hasattr(
            state, "_metadata"
        ):  # module state dicts carry their format versions here
            copied._metadata = copy.deepcopy(state._metadata)
        return copied
    if isinstance(state, (list, tuple)):
        return type(state)(copy_state(value, device) for value in state)
    return copy.deepcopy(state)


def loader_generators(*loaders: Any) -> list[torch.Generator]:
    """Return the random number generators the given data loaders shuffle with.

    A :class:`~torch.utils.data.DataLoader` made with ``generator=g`` (and any
    sampler made with one) draws its random numbers from ``g`` instead of from
    PyTorch's global generator, so ``g``'s state must be saved as well.

    Args:
        *loaders: data loaders; ``None`` and objects without generators are skipped.

    Returns:
        The distinct generators found, in a fixed order.
    """
    found: list[torch.Generator] = []
    for loader in loaders:
        for owner in (loader, getattr(loader, "sampler", None)):
            generator = getattr(owner, "generator", None)
            if isinstance(generator, torch.Generator) and not any(
                generator is g for g in found
            ):
                found.append(generator)
    return found


def capture_rng_state(generators: Sequence[torch.Generator] = ()) -> dict[str, Any]:
    """Return the state of every random number generator training may use.

    Args:
        generators: extra generators to include, e.g. :func:`loader_generators`.

    Returns:
        A dict of tensors and plain values: PyTorch's CPU generator, the CUDA and
        MPS generators when those devices exist, NumPy's and Python's global
        generators, and ``generators`` in order.

    Example:
        >>> state = capture_rng_state()
        >>> a = torch.rand(3)
        >>> restore_rng_state(state)
        >>> torch.equal(a, torch.rand(3))
        True
    """
    name, keys, position, has_gauss, cached_gauss = np.random.get_state(legacy=True)
    numpy_state = (
        name,
        torch.from_numpy(keys.astype(np.int64)),
        position,
        has_gauss,
        cached_gauss,
    )
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "mps": torch.mps.get_rng_state() if mps_available() else None,
        "numpy": numpy_state,
        "python": random.getstate(),
        "generators": [g.get_state() for g in generators],
    }


def restore_rng_state(
    state: dict[str, Any], generators: Sequence[torch.Generator] = ()
) -> None:
    """Put back the generator states returned by :func:`capture_rng_state`.

    Args:
        state: a dict from :func:`capture_rng_state`.
        generators: the generators to restore, in the same order as when captured.

    Raises:
        ValueError: ``state`` is not such a dict, or the number of generators
            differs from the number captured (see :func:`check_rng_state`);
            nothing is changed then.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> state = capture_rng_state([g])
        >>> first = torch.rand(2, generator=g)
        >>> restore_rng_state(state, [g])
        >>> torch.equal(first, torch.rand(2, generator=g))
        True
    """
    check_rng_state(state, generators)
    saved = state["generators"]
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if state["mps"] is not None and mps_available():
        torch.mps.set_rng_state(state["mps"])
    name, keys, position, has_gauss, cached_gauss = state["numpy"]
    np.random.set_state(
        (name, keys.numpy().astype(np.uint32), position, has_gauss, cached_gauss)
    )
    random.setstate(state["python"])
    for generator, generator_state in zip(generators, saved):
        generator.set_state(generator_state)


def check_rng_state(state: Any, generators: Sequence[torch.Generator] = ()) -> None:
    """Check that ``state`` can be restored with ``generators``,
    without changing anything.

    Args:
        state: a dict from :func:`capture_rng_state`.
        generators: the generators it is to be restored into.

    Raises:
        ValueError: ``state`` is not a dict with the entries
            :func:`capture_rng_state` makes, or it holds another number of
            data-loader generator states than ``len(generators)``.

    Example:
        >>> check_rng_state(capture_rng_state())
        >>> check_rng_state(capture_rng_state(), [torch.Generator()])
        Traceback (most recent call last):
        ...
        ValueError: the saved state has 0 data-loader generator(s), but 1 were
        given: ...
    """
    if not isinstance(state, dict) or any(key not in state for key in _RNG_KEYS):
        found = (
            sorted(map(str, state)) if isinstance(state, dict) else type(state).__name__
        )
        raise ValueError(
            f"the random number generator state must be a dict with the entries "
            f"{list(_RNG_KEYS)} (as capture_rng_state makes), got {found}"
        )
    saved = state["generators"]
    if len(saved) != len(generators):
        raise ValueError(
            f"the saved state has {len(saved)} data-loader generator(s), but "
            f"{len(generators)} were given: build the data loaders the same way as for "
            "the saved run (with or without DataLoader(generator=...))"
        )


# --------------------------------------------------------------------------
# Checking a saved trainer state against a trainer
# --------------------------------------------------------------------------


def trainer_state_problems(
    state: Any,
    *,
    model: nn.Module,
    optimizer: Optimizer,
    scheduler: object | None,
    settings: dict[str, Any],
    generators: Sequence[torch.Generator],
    history_keys: Sequence[str],
) -> list[str]:
    """Every way in which ``state`` does not fit a trainer (empty: it fits).

    ``state`` comes from :meth:`lrlib.training.Trainer.state_dict`, maybe
    through a file; the keywords describe the trainer it is to be loaded into
    (its model, optimizer, scheduler, settings, data-loader generators, and
    the keys of its history). Checked: the entries themselves (missing or
    unknown ones), the model's parameter and buffer names and shapes, the
    optimizer's class, groups and per-parameter state shapes, the scheduler's
    class, the settings, the epoch, the history and the generators.
    """
    if not isinstance(state, Mapping):
        return [f"it holds a {type(state).__name__}, not a trainer state (a dict)"]
    missing = [key for key in _STATE_KEYS if key not in state]
    if missing:
        return [_not_a_trainer_state(state, missing)]
    unknown = [str(key) for key in state if key not in (*_STATE_KEYS, *_OPTIONAL_KEYS)]
    problems = []
    if unknown:
        problems.append(
            f"it holds entries no trainer state has: {_listed(unknown)} (written by "
            "another program, or by a newer lrlib?): nothing is loaded rather than "
            "part of it"
        )
    problems += _model_problems(model, state["model"])
    problems += _optimizer_problems(
        optimizer, state["optimizer"], state.get("optimizer_class")
    )
    own_class = None if scheduler is None else type(scheduler).__name__
    if state["scheduler_class"] != own_class:
        problems.append(
            f"it was saved with scheduler {state['scheduler_class']}, but this "
            f"trainer has {own_class}: build the trainer with the same kind of "
            "scheduler"
        )
    problems += _settings_problems(settings, state.get("trainer"))
    epoch, history = state["epoch"], state["history"]
    try:
        check_int("its epoch", epoch, low=0)
    except ValueError as exc:
        problems.append(str(exc))
    if not isinstance(history, Mapping) or not all(
        isinstance(history.get(key), list)
        for key in history_keys
        if key != "skipped_batches"
    ):
        problems.append(
            f"its history must be a dict of lists with the keys {list(history_keys)}"
        )
    try:
        check_rng_state(state["rng"], list(generators))
    except ValueError as exc:
        problems.append(str(exc))
    return problems


def _not_a_trainer_state(state: Mapping, missing: list[str]) -> str:
    keys = [str(key) for key in state]
    shown = keys[:5] + (["..."] if len(keys) > 5 else [])
    if keys and all(isinstance(value, torch.Tensor) for value in state.values()):
        return (
            f"it holds only tensors, named {shown}: a model's state_dict, not a "
            "trainer checkpoint written by save_checkpoint. Load a model's weights "
            "with model.load_state_dict(torch.load(path, weights_only=True))"
        )
    return (
        f"it is not a trainer checkpoint written by save_checkpoint: it lacks the "
        f"entries {missing} (its entries are {shown})"
    )


def _listed(names: list[str], limit: int = 5) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _model_problems(model: nn.Module, saved: Any) -> list[str]:
    if not isinstance(saved, Mapping):
        return [
            f"its model state must be a dict of tensors, got {type(saved).__name__}"
        ]
    own = model.state_dict()
    problems = []
    missing = [key for key in own if key not in saved]
    unexpected = [str(key) for key in saved if key not in own]
    if missing:
        problems.append(f"the model's {_listed(missing)} are missing from it")
    if unexpected:
        problems.append(
            f"it holds model entries this model lacks: {_listed(unexpected)}"
        )
    for key, tensor in own.items():
        value = saved.get(key)
        if isinstance(value, torch.Tensor) and value.shape != tensor.shape:
            problems.append(
                f"model entry {key!r} has shape {tuple(value.shape)} in it, but "
                f"{tuple(tensor.shape)} in this model"
            )
        elif key in saved and not isinstance(value, torch.Tensor):
            problems.append(
                f"model entry {key!r} is a {type(value).__name__}, not a tensor"
            )
    return problems


def _optimizer_problems(
    optimizer: Optimizer, saved: Any, saved_class: str | None
) -> list[str]:
    own_class = type(optimizer).__name__
    if saved_class is not None and saved_class != own_class:
        return [
            f"it was saved with optimizer {saved_class}, but this trainer has "
            f"{own_class}: {own_class} would find none of the state and settings it "
            "needs"
        ]
    if not (
        isinstance(saved, Mapping) and "state" in saved and "param_groups" in saved
    ):
        return ["its optimizer state is not a dict with 'state' and 'param_groups'"]
    saved_groups, own_groups = saved["param_groups"], optimizer.param_groups
    if len(saved_groups) != len(own_groups):
        return [
            f"its optimizer has {len(saved_groups)} parameter group(s), this one "
            f"{len(own_groups)}"
        ]
    problems = []
    for g, (saved_group, own_group) in enumerate(zip(saved_groups, own_groups)):
        if len(saved_group["params"]) != len(own_group["params"]):
            problems.append(
                f"optimizer parameter group {g} holds {len(saved_group['params'])} "
                f"parameter(s) in it, {len(own_group['params'])} in this optimizer"
            )
    if problems:
        return problems
    own_params = [p for group in own_groups for p in group["params"]]
    index_of = {
        saved_id: position
        for position, saved_id in enumerate(
            i for group in saved_groups for i in group["params"]
        )
    }
    for saved_id, entries in saved["state"].items():
        position = index_of.get(saved_id)
        if position is None or not isinstance(entries, Mapping):
            problems.append(
                f"its optimizer state refers to an unknown parameter {saved_id!r}"
            )
            continue
        shape = tuple(own_params[position].shape)
        for name, value in entries.items():
            if (
                isinstance(value, torch.Tensor)
                and value.ndim > 0
                and tuple(value.shape) != shape
            ):
                problems.append(
                    f"optimizer state {name!r} of parameter {position} has shape "
                    f"{tuple(value.shape)} in it, but the parameter has shape {shape}"
                )
    return problems


def _settings_problems(own: dict[str, Any], saved: Any) -> list[str]:
    if saved is None:
        return []  # saved before the settings were recorded
    if not isinstance(saved, Mapping):
        return [f"its trainer settings must be a dict, got {type(saved).__name__}"]
    names = ["scheduler_step", "track_accuracy"]
    if own["scheduler_step"] == "metric":
        names.append("monitor")
    return [
        f"it was saved by a trainer with {name}={saved.get(name)!r}, but this one has "
        f"{name}={own[name]!r}"
        for name in names
        if name in saved and saved[name] != own[name]
    ]
