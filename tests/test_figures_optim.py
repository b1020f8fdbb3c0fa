"""The figure functions draw what they promise and return their axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.axes import Axes
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure

from lrlib.book.figures_optim import (
    animate_paths,
    animation_html,
    plot_adam_gradients,
    plot_adam_scaling,
    plot_lag_weights,
    plot_loss_curves,
    plot_loss_surface,
    plot_moving_averages,
    plot_update_terms,
)
from lrlib.linreg import LossSurface, PathResult
from lrlib.moving_averages import (
    ewma_beta,
    ewma_bias_corrected,
    ewma_lag_weights,
    sma,
    sma_lag_weights,
)
from lrlib.optim_math import adam_reference, sgd_reference


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def make_surface() -> LossSurface:
    biases, weights = np.linspace(-1, 3, 30), np.linspace(-1, 5, 40)
    b, w = np.meshgrid(biases, weights)
    return LossSurface(
        biases, weights, (b - 1) ** 2 + 0.3 * (w - 2) ** 2, 1.0, 2.0, 0.0
    )


def make_path(shift: float) -> PathResult:
    steps = np.linspace(0, 1, 11)
    return PathResult(
        biases=-1 + 2 * steps + shift,
        weights=-1 + 3 * steps,
        batch_losses=np.linspace(5, 0.1, 10),
        epoch_losses=np.array([2.0, 0.5]),
        lrs=np.full((10, 1), 0.1),
    )


def test_lag_weights_draws_one_bar_group_per_average():
    ax = plot_lag_weights(
        {"EWMA": ewma_lag_weights(1 / 3, 10), "SMA": sma_lag_weights(5, n_lags=10)}
    )
    assert isinstance(ax, Axes)
    assert len(ax.containers) == 2
    assert [len(c.patches) for c in ax.containers] == [10, 10]
    heights = [p.get_height() for p in ax.containers[1].patches]
    np.testing.assert_allclose(heights, [0.2] * 5 + [0.0] * 5)


def test_moving_averages_draws_the_series_and_each_average():
    values = np.sin(np.linspace(0, 6, 50)) + 5
    averages = {
        "SMA": sma(values, 5),
        "EWMA": ewma_beta(values, 0.9),
        "corrected": ewma_bias_corrected(values, 0.9),
    }
    _, given = plt.subplots()
    ax = plot_moving_averages(values, averages, ax=given)
    assert ax is given
    assert len(ax.lines) == 4
    np.testing.assert_allclose(ax.lines[2].get_ydata(), averages["EWMA"])
    with pytest.raises(ValueError, match="has 3 values"):
        plot_moving_averages(values, {"short": [1.0, 2.0, 3.0]})


def test_adam_gradients_and_scaling():
    grads = torch.randn(30, 2, 3, generator=torch.Generator().manual_seed(0))
    trace = adam_reference(grads, lr=0.01)
    ax = plot_adam_gradients(trace, element=4)
    assert len(ax.lines) == 4  # gradient, m_hat, adapted, and the zero line
    np.testing.assert_allclose(ax.lines[1].get_ydata(), trace.m_hat[:, 1, 1].numpy())
    ax = plot_adam_scaling(trace, element=-1)
    assert len(ax.lines) == 1
    np.testing.assert_allclose(ax.lines[0].get_ydata(), trace.scaling[:, 1, 2].numpy())
    with pytest.raises(IndexError, match="6 values"):
        plot_adam_gradients(trace, element=6)


def test_loss_surface_with_paths_and_minimum():
    ax = plot_loss_surface(
        make_surface(), {"SGD": make_path(0.0), "Adam": make_path(0.3)}, levels=10
    )
    assert sum(isinstance(c, ContourSet) for c in ax.get_children()) == 1
    assert len(ax.lines) == 3  # the minimum, then one line per path
    assert ax.lines[0].get_xdata()[0] == 1.0 and ax.lines[0].get_ydata()[0] == 2.0
    np.testing.assert_allclose(ax.lines[2].get_xdata(), make_path(0.3).biases)
    assert len(plot_loss_surface(make_surface()).lines) == 1


def test_loss_curves_one_line_per_run():
    ax = plot_loss_curves(
        {"SGD": make_path(0).batch_losses, "Adam": np.linspace(3, 0.01, 10)},
        log_scale=True,
    )
    assert len(ax.lines) == 2
    assert ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(1, 11))


def test_update_terms_of_the_three_sgd_flavours():
    grads = torch.tensor([[1.0], [0.5], [-0.2], [0.1]])
    terms = {
        "plain": sgd_reference(grads, lr=0.1).update_term,
        "momentum": sgd_reference(grads, lr=0.1, momentum=0.9).update_term,
        "Nesterov": sgd_reference(
            grads, lr=0.1, momentum=0.9, nesterov=True
        ).update_term,
    }
    ax = plot_update_terms(terms)
    assert len(ax.lines) == 4  # three flavours and the zero line
    np.testing.assert_allclose(
        ax.lines[1].get_ydata(), terms["momentum"].flatten().numpy()
    )
    with pytest.raises(ValueError, match="1-D series"):
        plot_update_terms({"2-D": np.ones((3, 2))})


# ---------------------------------------------------------------------------- animation


def tiny_figure() -> Figure:
    return Figure(figsize=(3, 2.5), dpi=20)


def test_animation_frames_show_the_paths_step_by_step():
    paths = {"SGD": make_path(0.0), "Adam": make_path(0.3)}
    fig = Figure(figsize=(3, 2.5), dpi=20)
    animation = animate_paths(
        make_surface(),
        paths,
        steps=[0, 2, 5],
        levels=5,
        legend_loc="lower left",
        fig=fig,
    )
    assert list(animation.new_frame_seq()) == [0, 2, 5]
    html = animation.to_jshtml()  # draws every frame; the figure keeps the last one
    assert html.count("data:image/png;base64") == 3
    ax = fig.axes[0]
    trail = ax.lines[2]  # the minimum, the SGD trail, the Adam trail, then the heads
    np.testing.assert_allclose(trail.get_xdata(), make_path(0.3).biases[:6])
    np.testing.assert_allclose(trail.get_ydata(), make_path(0.3).weights[:6])
    head = ax.lines[4]
    assert head.get_xdata()[0] == make_path(0.3).biases[5]
    assert ax.get_title() == "after 5 steps"
    assert not any(c.get_antialiased() for c in ax.collections)  # small PNG frames
    legend, frame = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert (
        legend.x0 - frame.x0 < 0.1 * frame.width
    )  # in the lower left corner, as asked
    assert legend.y0 - frame.y0 < 0.1 * frame.height


def test_animation_makes_no_pyplot_figure():
    plt.close("all")
    animation = animate_paths(
        make_surface(), {"SGD": make_path(0.0)}, steps=[0, 1], dpi=20
    )
    assert (
        not plt.get_fignums()
    )  # a notebook shows the animation only, not a static copy
    animation.to_jshtml()


def test_animation_frame_count_defaults_to_the_shortest_path():
    short = make_path(0.0)
    short = PathResult(
        short.biases[:5],
        short.weights[:5],
        short.batch_losses[:4],
        short.epoch_losses,
        short.lrs[:4],
    )
    animation = animate_paths(
        make_surface(), {"long": make_path(0.1), "short": short}, fig=tiny_figure()
    )
    assert list(animation.new_frame_seq()) == [0, 1, 2, 3, 4]
    animation.to_jshtml()
    for bad in ([0, 5], [], [-1], [1.5]):
        with pytest.raises(ValueError, match=r"steps must be .* in \[0, 4\]"):
            animate_paths(
                make_surface(), {"long": make_path(0.1), "short": short}, steps=bad
            )
    with pytest.raises(ValueError, match="at least one path"):
        animate_paths(make_surface(), {})


def test_animation_html_is_offline_and_reproducible():
    def render() -> str:
        animation = animate_paths(
            make_surface(),
            {"SGD": make_path(0.0)},
            steps=range(3),
            levels=5,
            figsize=(3, 2.5),
            dpi=20,
        )
        return animation_html(animation, "test_paths")

    html = render()
    assert html == render()  # same frames and same element ids: nbval can compare it
    assert (
        "https://" not in html and "http://" not in html and "font-awesome" not in html
    )
    assert 'class="fa' not in html
    assert (
        'id="_anim_imgtest_paths"' in html and "animtest_paths.play_animation()" in html
    )
    assert html.count("data:image/png;base64") == 3
    animation = animate_paths(
        make_surface(), {"SGD": make_path(0.0)}, steps=[0], fig=tiny_figure()
    )
    for bad in ["9lives", "with space", "", "a-b", None]:
        with pytest.raises(ValueError, match="element_id"):
            animation_html(animation, bad)
    animation.to_jshtml()
