"""Tests for lrlib.stats: statistics are checked against hand computations and
against PyTorch's own reductions over the stacked data set."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset
from torchvision.transforms import v2

from lrlib.stats import (
    ChannelStats,
    batch_stats,
    denormalize,
    fit_normalizer,
    loader_stats,
    to_displayable,
)


@pytest.fixture
def images() -> torch.Tensor:
    """37 RGB images with different per-channel levels and per-image brightness."""
    g = torch.Generator().manual_seed(0)
    base = torch.rand(37, 3, 6, 5, generator=g) * torch.tensor([0.2, 0.5, 0.1]).view(
        1, 3, 1, 1
    )
    brightness = torch.rand(37, 1, 1, 1, generator=g) * 0.4
    return base + brightness + torch.tensor([0.1, 0.3, 0.5]).view(1, 3, 1, 1)


def _loader(images: torch.Tensor, batch_size: int) -> DataLoader:
    labels = torch.arange(len(images)) % 3
    return DataLoader(
        TensorDataset(images, labels), batch_size=batch_size, shuffle=False
    )


# --- hand-computed cases -------------------------------------------------------


def test_pooled_std_differs_from_mean_of_image_stds_by_hand():
    # Image A is flat (all 0); image B is 0, 1, 0, 1. One channel, 2x2 pixels.
    a = torch.zeros(1, 2, 2)
    b = torch.tensor([[[0.0, 1.0], [0.0, 1.0]]])
    stats = batch_stats(torch.stack([a, b]))
    # Per image: std(A) = 0, std(B) = 0.5 -> average 0.25.
    assert stats.mean_of_image_stds.tolist() == pytest.approx([0.25])
    # Pooled: eight pixels, two of them 1 -> mean 1/4, variance 1/4 * 3/4 = 3/16.
    assert stats.mean.tolist() == pytest.approx([0.25])
    assert stats.var.tolist() == pytest.approx([3 / 16])
    assert stats.std.tolist() == pytest.approx([math.sqrt(3) / 4])
    assert stats.count == 8 and stats.n_images == 2


def test_flat_images_have_zero_image_std_but_not_zero_pooled_std():
    # A black and a white image, per channel: each image is flat, together they spread.
    images = torch.stack([torch.zeros(3, 4, 4), torch.ones(3, 4, 4)])
    stats = batch_stats(images)
    assert stats.mean_of_image_stds.tolist() == [0.0, 0.0, 0.0]
    assert stats.std.tolist() == pytest.approx([0.5, 0.5, 0.5])


def test_law_of_total_variance(images):
    # pooled variance = mean of per-image variances + variance of per-image means
    stats = batch_stats(images)
    x = images.double()
    within = x.var(dim=(2, 3), unbiased=False).mean(dim=0)
    between = x.mean(dim=(2, 3)).var(dim=0, unbiased=False)
    torch.testing.assert_close(stats.var, within + between)
    assert bool((stats.mean_of_image_stds < stats.std).all())


# --- one batch and a whole loader against the stacked data ---------------------


def test_batch_stats_match_torch_reductions(images):
    stats = batch_stats(images)
    assert stats.mean.dtype == torch.float64 and stats.mean.shape == (3,)
    torch.testing.assert_close(stats.mean, images.double().mean(dim=(0, 2, 3)))
    torch.testing.assert_close(
        stats.std, images.double().std(dim=(0, 2, 3), unbiased=False)
    )
    torch.testing.assert_close(
        stats.mean_of_image_stds,
        images.double().std(dim=(2, 3), unbiased=False).mean(dim=0),
    )


@pytest.mark.parametrize("batch_size", [1, 8, 10, 37, 100])
def test_loader_stats_equal_stats_of_stacked_dataset(images, batch_size):
    loader = _loader(images, batch_size)
    stacked = torch.cat(
        [x for x, _ in loader]
    )  # 37 images: uneven last batch for 8 and 10
    stats = loader_stats(loader)
    assert stats.n_images == 37 and stats.count == 37 * 6 * 5
    expected_mean = stacked.mean(dim=(0, 2, 3))
    expected_std = torch.std(stacked, dim=(0, 2, 3), unbiased=False)
    expected_image_stds = stacked.std(dim=(2, 3), unbiased=False).mean(dim=0)
    torch.testing.assert_close(stats.mean.float(), expected_mean, rtol=0, atol=1e-5)
    torch.testing.assert_close(stats.std.float(), expected_std, rtol=0, atol=1e-5)
    torch.testing.assert_close(
        stats.mean_of_image_stds.float(), expected_image_stds, rtol=0, atol=1e-5
    )


def test_loader_of_bare_tensors_and_lists():
    images = torch.rand(9, 2, 3, 3)
    from_tensors = loader_stats([images[:4], images[4:]])
    from_lists = loader_stats([[images[:5], "labels"], [images[5:], "labels"]])
    for stats in (from_tensors, from_lists):
        torch.testing.assert_close(stats.mean, images.double().mean(dim=(0, 2, 3)))
        torch.testing.assert_close(
            stats.std, images.double().std(dim=(0, 2, 3), unbiased=False)
        )


def test_streaming_is_numerically_sound():
    # A large offset with a tiny spread: float32 E[x^2] - E[x]^2 would lose every digit.
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(64, 1, 16, 16, generator=g, dtype=torch.float64) * 1e-3
    images = (1000.0 + noise).float()
    stats = loader_stats(images.split(5))
    x = images.double()
    naive_var_float32 = (images.square().mean() - images.mean().square()).item()
    exact_var = x.var(unbiased=False).item()
    assert (
        abs(naive_var_float32 - exact_var) > 0.5 * exact_var
    )  # the naive formula really fails
    assert stats.var.item() == pytest.approx(exact_var, rel=1e-9)
    assert stats.mean.item() == pytest.approx(x.mean().item(), rel=1e-12)


def test_merge_equals_stats_of_concatenation_and_is_order_free(images):
    a, b = images[:10], images[10:]
    ab = batch_stats(a).merge(batch_stats(b))
    ba = batch_stats(b).merge(batch_stats(a))
    whole = batch_stats(images)
    for merged in (ab, ba):
        assert merged.n_images == whole.n_images and merged.count == whole.count
        torch.testing.assert_close(merged.mean, whole.mean)
        torch.testing.assert_close(merged.m2, whole.m2)
        torch.testing.assert_close(merged.mean_of_image_stds, whole.mean_of_image_stds)


def test_merge_rejects_other_channel_counts_and_types():
    three = batch_stats(torch.rand(2, 3, 4, 4))
    with pytest.raises(ValueError, match="3 channel.*1 channel"):
        three.merge(batch_stats(torch.rand(2, 1, 4, 4)))
    with pytest.raises(TypeError, match="ChannelStats"):
        three.merge("not stats")  # type: ignore[arg-type]


def test_stats_are_frozen(images):
    stats = batch_stats(images)
    assert isinstance(stats, ChannelStats)
    with pytest.raises(AttributeError):
        stats.count = 0  # type: ignore[misc]


# --- the normalizer -------------------------------------------------------------


def test_fitted_normalizer_standardizes_training_data(images):
    normalize = fit_normalizer(_loader(images, 8))
    assert isinstance(normalize, v2.Normalize)
    standardized = normalize(images).double()
    torch.testing.assert_close(
        standardized.mean(dim=(0, 2, 3)),
        torch.zeros(3, dtype=torch.float64),
        rtol=0,
        atol=1e-5,
    )
    torch.testing.assert_close(
        standardized.std(dim=(0, 2, 3), unbiased=False),
        torch.ones(3, dtype=torch.float64),
        rtol=0,
        atol=1e-5,
    )


def test_normalizer_uses_pooled_population_std(images):
    normalize = batch_stats(images).normalizer()
    expected = images.double().std(dim=(0, 2, 3), unbiased=False)
    assert normalize.std == pytest.approx(expected.tolist(), rel=1e-12)
    # ... which is neither the sample std nor the average of per-image stds.
    assert normalize.std != pytest.approx(
        images.double().std(dim=(0, 2, 3)).tolist(), rel=1e-6
    )
    image_stds = images.double().std(dim=(2, 3), unbiased=False).mean(dim=0)
    assert normalize.std != pytest.approx(image_stds.tolist(), rel=1e-2)


def test_normalizer_rejects_constant_channel():
    images = torch.rand(4, 3, 5, 5)
    images[:, 1] = 0.7
    with pytest.raises(ValueError, match=r"channel\(s\) \[1\]"):
        batch_stats(images).normalizer()


@pytest.mark.parametrize("shape", [(3, 7, 7), (5, 3, 7, 7)])
def test_denormalize_inverts_normalize(shape):
    images = torch.rand(*shape, generator=torch.Generator().manual_seed(2))
    normalize = v2.Normalize(mean=[0.2, 0.5, 0.8], std=[0.1, 0.3, 0.05])
    restored = denormalize(normalize(images), normalize.mean, normalize.std)
    assert restored.shape == images.shape and restored.dtype == images.dtype
    torch.testing.assert_close(restored, images, rtol=0, atol=1e-5)


def test_denormalize_clips_to_unit_interval():
    restored = denormalize(torch.tensor([[[-100.0, 0.0, 100.0]]]), [0.5], [0.25])
    assert restored.tolist() == [[[0.0, 0.5, 1.0]]]


def test_denormalize_accepts_tensors_and_checks_lengths():
    images = torch.zeros(2, 3, 2, 2)
    out = denormalize(
        images, torch.tensor([0.1, 0.2, 0.3]), torch.tensor([1.0, 1.0, 1.0])
    )
    torch.testing.assert_close(out[1, :, 0, 0], torch.tensor([0.1, 0.2, 0.3]))
    with pytest.raises(
        ValueError, match=r"mean must have one value per channel \(3\), got 2"
    ):
        denormalize(images, [0.1, 0.2], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="std must be positive"):
        denormalize(images, [0.1, 0.2, 0.3], [1.0, 0.0, 1.0])


def test_to_displayable_is_channels_last():
    chw = torch.arange(2 * 3 * 4, dtype=torch.float32).view(3, 2, 4) / 24
    hwc = to_displayable(chw)
    assert isinstance(hwc, np.ndarray) and hwc.shape == (2, 4, 3)
    assert hwc[1, 2, 0] == chw[0, 1, 2].item() and hwc[0, 3, 2] == chw[2, 0, 3].item()
    assert to_displayable(torch.zeros(5, 3, 2, 4)).shape == (5, 2, 4, 3)
    assert to_displayable(torch.zeros(1, 2, 4)).shape == (2, 4)


# --- bad input --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (torch.rand(3, 4, 4), ValueError, r"\(N, C, H, W\), got shape \(3, 4, 4\)"),
        (torch.rand(2, 3, 4, 4, 1), ValueError, "got shape"),
        (torch.rand(0, 3, 4, 4), ValueError, "at least one image"),
        (torch.zeros(2, 3, 4, 4, dtype=torch.uint8), TypeError, "ToDtype"),
        (np.zeros((2, 3, 4, 4)), TypeError, "torch.Tensor, got ndarray"),
    ],
)
def test_batch_stats_rejects_bad_input(bad, error, match):
    with pytest.raises(error, match=match):
        batch_stats(bad)


def test_loader_stats_rejects_empty_loader_and_bad_batches():
    with pytest.raises(ValueError, match="no batches"):
        loader_stats(DataLoader(TensorDataset(torch.zeros(0, 3, 2, 2)), batch_size=4))
    with pytest.raises(TypeError, match=r"batch 0: expected a tensor .* got str"):
        loader_stats(["not images"])
    with pytest.raises(TypeError, match="batch 1 is an empty tuple"):
        loader_stats([torch.rand(1, 3, 2, 2), ()])
    with pytest.raises(ValueError, match="3 channel.*1 channel"):
        loader_stats([torch.rand(1, 3, 2, 2), torch.rand(1, 1, 2, 2)])


def test_denormalize_and_display_reject_bad_input():
    with pytest.raises(ValueError, match=r"\(C, H, W\) or \(N, C, H, W\)"):
        denormalize(torch.rand(4, 4), [0.5], [0.5])
    with pytest.raises(TypeError, match="floating point"):
        denormalize(torch.zeros(1, 4, 4, dtype=torch.uint8), [0.5], [0.5])
    with pytest.raises(TypeError, match="list"):
        to_displayable([[0.0]])  # type: ignore[arg-type]
