"""Tests for lrlib.models: sizes by formula, shapes, dropout behaviour, errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lrlib.models import TwoBlockCNN, count_parameters


def _expected_parameters(
    n: int, hidden: int = 50, classes: int = 3, channels: int = 3
) -> int:
    # weights + biases of each layer, computed by hand from the architecture
    conv1 = channels * n * 3 * 3 + n
    conv2 = n * n * 3 * 3 + n
    fc1 = n * 5 * 5 * hidden + hidden
    fc2 = hidden * classes + classes
    return conv1 + conv2 + fc1 + fc2


def test_five_filters_give_6823_parameters():
    assert 3 * 5 * 9 + 5 + 5 * 5 * 9 + 5 + 125 * 50 + 50 + 50 * 3 + 3 == 6823
    assert count_parameters(TwoBlockCNN(n_filters=5)) == 6823


@pytest.mark.parametrize("n", [1, 3, 8])
def test_parameter_count_matches_formula(n):
    assert count_parameters(TwoBlockCNN(n_filters=n, p=0.5)) == _expected_parameters(n)


def test_count_parameters_trainable_only_and_shared():
    model = TwoBlockCNN()
    model.featurizer.requires_grad_(False)
    frozen = 3 * 5 * 9 + 5 + 5 * 5 * 9 + 5
    assert count_parameters(model) == 6823 - frozen
    assert count_parameters(model, trainable_only=False) == 6823
    shared = nn.Linear(4, 4)
    assert count_parameters(nn.Sequential(shared, shared)) == 20
    with pytest.raises(TypeError, match="nn.Module, got str"):
        count_parameters("model")  # type: ignore[arg-type]


def test_output_and_intermediate_shapes():
    torch.manual_seed(0)
    model = TwoBlockCNN(n_filters=7)
    images = torch.rand(4, 3, 28, 28)
    shapes = {}

    def record(name):
        def hook(module, inputs, output):
            shapes[name] = tuple(output.shape)

        return hook

    hooks = [
        module.register_forward_hook(record(name))
        for name, module in model.featurizer.named_children()
    ]
    try:
        logits = model(images)
    finally:
        for hook in hooks:
            hook.remove()
    assert logits.shape == (4, 3)
    assert shapes == {
        "conv1": (4, 7, 26, 26),
        "relu1": (4, 7, 26, 26),
        "pool1": (4, 7, 13, 13),
        "conv2": (4, 7, 11, 11),
        "relu2": (4, 7, 11, 11),
        "pool2": (4, 7, 5, 5),
        "flatten": (4, 7 * 25),
    }
    assert model.feature_shape == (7, 5, 5) and model.input_shape == (3, 28, 28)


def test_named_parts_and_layer_types():
    model = TwoBlockCNN(n_filters=5, p=0.25)
    assert [name for name, _ in model.named_children()] == ["featurizer", "classifier"]
    assert model.featurizer.conv1.weight.shape == (5, 3, 3, 3)
    assert model.featurizer.conv2.weight.shape == (5, 5, 3, 3)
    assert (
        model.classifier.fc1.in_features == 125
        and model.classifier.fc1.out_features == 50
    )
    assert model.classifier.fc2.out_features == 3
    assert model.classifier.dropout1.p == 0.25 and model.classifier.dropout2.p == 0.25
    assert model[0] is model.featurizer  # still an ordinary nn.Sequential


def test_forward_equals_manual_composition():
    torch.manual_seed(1)
    model = TwoBlockCNN(n_filters=4).eval()
    x = torch.rand(2, 3, 28, 28)
    f = model.featurizer
    c = model.classifier
    h = torch.max_pool2d(torch.relu(f.conv1(x)), 2)
    h = torch.max_pool2d(torch.relu(f.conv2(h)), 2).flatten(1)
    expected = c.fc2(torch.relu(c.fc1(h)))
    torch.testing.assert_close(model(x), expected)


def test_dropout_is_active_in_train_mode_and_inert_in_eval_mode():
    torch.manual_seed(2)
    p = 0.5
    model = TwoBlockCNN(p=p)
    reference = TwoBlockCNN(p=0.0)
    reference.load_state_dict(model.state_dict())  # same weights, no dropout
    x = torch.rand(8, 3, 28, 28)

    model.train()
    seen = {}

    def remember_input(module, args):
        seen["x"] = args[0]

    hook = model.classifier.fc1.register_forward_pre_hook(remember_input)
    try:
        first, second = model(x), model(x)
    finally:
        hook.remove()
    assert not torch.allclose(first, second)  # a new mask every call
    features = reference.featurizer(x)  # what fc1 would see without dropout
    dropped = seen["x"]  # what fc1 saw in the last call
    alive = features != 0  # ReLU already zeroes some features
    kept = dropped != 0
    assert alive.sum() > 200 and not bool((kept & ~alive).any())
    assert 0.4 < (kept.sum() / alive.sum()).item() < 0.6  # about 1 - p survive
    # survivors are scaled by 1 / (1 - p), the dropped are zero
    torch.testing.assert_close(dropped[kept], features[kept] / (1 - p))

    model.eval()
    torch.testing.assert_close(model(x), model(x))
    torch.testing.assert_close(model(x), reference.eval()(x))


def test_wrong_input_size_gives_clear_error():
    model = TwoBlockCNN()
    with pytest.raises(
        ValueError, match=r"\(N, 3, 28, 28\), got shape \(2, 3, 32, 32\)"
    ):
        model(torch.rand(2, 3, 32, 32))
    with pytest.raises(ValueError, match=r"got shape \(3, 28, 28\)"):
        model(torch.rand(3, 28, 28))
    with pytest.raises(ValueError, match=r"got shape \(2, 1, 28, 28\)"):
        model(torch.rand(2, 1, 28, 28))


def test_other_image_sizes_and_channels():
    model = TwoBlockCNN(
        n_filters=2, in_channels=1, image_size=64, n_classes=10, hidden=16
    )
    # 64 -> 62 -> 31 -> 29 -> 14
    assert model.feature_shape == (2, 14, 14)
    assert model(torch.rand(3, 1, 64, 64)).shape == (3, 10)
    assert TwoBlockCNN(image_size=10).feature_shape == (5, 1, 1)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"p": 1.0}, ValueError, r"\[0, 1\), got 1.0"),
        ({"p": -0.1}, ValueError, r"\[0, 1\), got -0.1"),
        (
            {"p": "0.5"},
            TypeError,
            r"^p must be a finite number in \[0, 1\), got '0.5'$",
        ),
        ({"n_filters": 0}, ValueError, "^n_filters must be a positive int, got 0$"),
        ({"n_filters": 2.0}, TypeError, "^n_filters must be a positive int, got 2.0$"),
        ({"hidden": True}, TypeError, "^hidden must be a positive int, got True$"),
        ({"image_size": 9}, ValueError, "at least 10.*got 9"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        TwoBlockCNN(**kwargs)
