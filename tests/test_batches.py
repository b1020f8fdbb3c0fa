"""Tests for lrlib._batches:
the one rule for batches that the trainer and the range test share.
"""

from __future__ import annotations

import doctest
from collections import OrderedDict

import pytest
import torch
from torch import nn

import lrlib._batches as batches_module
from lrlib import lr_range_test as range_test_module
from lrlib import training as training_module
from lrlib._batches import (
    BATCH_KEYS,
    batch_inputs,
    check_loss_shapes,
    check_materialized,
    is_one_shot,
    split_batch,
)

X, Y = torch.arange(12.0).reshape(4, 3), torch.tensor([0, 1, 1, 0])


@pytest.mark.parametrize(
    "batch",
    [
        (X, Y),
        [X, Y],
        (X, Y, torch.ones(4), "extra"),
        {"inputs": X, "targets": Y},
        OrderedDict(input=X, target=Y, index=torch.arange(4)),
        {"x": X, "y": Y, "names": ["a", "b", "c", "d"]},
        {"image": X, "label": Y},
    ],
    ids=[
        "pair",
        "list",
        "longer-tuple",
        "inputs/targets",
        "input/target",
        "x/y",
        "image/label",
    ],
)
def test_every_accepted_form_gives_the_same_inputs_and_targets(batch):
    inputs, targets = split_batch(batch, "cpu")
    assert torch.equal(inputs, X) and torch.equal(targets, Y)
    assert torch.equal(batch_inputs(batch, "cpu"), X)


def test_the_key_pairs_are_documented_and_all_accepted():
    for inputs_key, targets_key in BATCH_KEYS:
        inputs, targets = split_batch({inputs_key: X, targets_key: Y}, "cpu")
        assert inputs is X and targets is Y  # already on the CPU: not copied


@pytest.mark.parametrize(
    ("batch", "error", "match"),
    [
        (
            X,
            TypeError,
            r"a mapping with one of the key pairs .* or an \(inputs, targets, \.\.\.\) "
            r"tuple or list, got Tensor",
        ),
        ((X,), TypeError, "got a tuple of 1 entry"),
        ([], TypeError, "got a list of 0 entries"),
        ({"inputs": X}, TypeError, r"its keys are \['inputs'\]"),
        (
            {"features": X, "labels": Y},
            TypeError,
            r"its keys are \['features', 'labels'\]",
        ),
        ({"x": X, "y": Y, "input": X, "target": Y}, TypeError, "ambiguous"),
        (
            ("text", Y),
            TypeError,
            r"batch\[0\] \(the inputs\) must be a tensor, got str",
        ),
        (
            (X, [0, 1]),
            TypeError,
            r"batch\[1\] \(the targets\) must be a tensor, got a list",
        ),
        ({"x": X, "y": 3}, TypeError, r"batch\['y'\] must be a tensor, got int"),
    ],
)
def test_anything_else_is_refused_with_what_a_batch_must_be(batch, error, match):
    with pytest.raises(error, match=match):
        split_batch(batch, "cpu")


def test_batch_inputs_accepts_inputs_without_targets():
    assert batch_inputs(X, "cpu") is X
    assert batch_inputs((X,), "cpu") is X
    assert batch_inputs({"inputs": X}, "cpu") is X
    with pytest.raises(
        TypeError, match=r"key pairs \['inputs', 'input', 'x', 'image'\]"
    ):
        batch_inputs({"targets": Y}, "cpu")
    with pytest.raises(TypeError, match="got int"):
        batch_inputs(3, "cpu")


def test_trainer_and_range_test_share_the_one_function():
    assert training_module.split_batch is split_batch
    assert range_test_module.split_batch is split_batch
    assert not hasattr(training_module, "_split_batch")
    assert not hasattr(range_test_module, "_inputs_targets")


def test_is_one_shot_tells_iterators_from_re_iterables():
    data = [(X, Y)]
    assert not is_one_shot(data)
    assert not is_one_shot(
        torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, Y))
    )
    assert is_one_shot(iter(data))
    assert is_one_shot(b for b in data)
    assert is_one_shot(map(tuple, data))


def test_check_materialized():
    check_materialized(nn.Linear(2, 2))
    with torch.device("meta"):
        model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    with pytest.raises(
        ValueError,
        match=r"Sequential has parameters or buffers on the meta device "
        r"\(0\.weight, 0\.bias, 1\.weight and 4 more\)",
    ):
        check_materialized(model)
    model.to_empty(device="cpu")
    check_materialized(model)


@pytest.mark.parametrize(
    ("outputs", "targets"),
    [
        ((8, 1), (8, 1)),  # regression, same shapes
        ((8,), (8,)),
        ((8, 3), (8,)),  # logits and class ids: not broadcastable
        (
            (3, 3),
            (3,),
        ),  # logits and class ids with N == C: broadcast to the outputs' shape
        ((8, 3, 5, 5), (8, 5, 5)),  # segmentation
        ((8, 1), (1,)),
        ((), ()),
    ],
)
def test_shapes_that_do_not_grow_the_loss_are_accepted(outputs, targets):
    check_loss_shapes(torch.zeros(outputs), torch.zeros(targets))


@pytest.mark.parametrize(
    ("outputs", "targets", "joint"),
    [((8, 1), (8,), (8, 8)), ((8,), (8, 1), (8, 8)), ((4, 1), (1, 3), (4, 3))],
)
def test_shapes_that_broadcast_beyond_the_outputs_are_refused(outputs, targets, joint):
    with pytest.raises(ValueError) as info:
        check_loss_shapes(torch.zeros(outputs), torch.zeros(targets))
    message = str(info.value)
    assert f"shape {outputs}" in message and f"shape {targets}" in message
    assert f"broadcast to {joint}" in message


def test_non_tensor_outputs_are_left_to_the_loss():
    check_loss_shapes((torch.zeros(2, 1),), torch.zeros(2))


def test_docstring_examples():
    outcome = doctest.testmod(
        batches_module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    assert outcome.attempted > 0 and outcome.failed == 0
