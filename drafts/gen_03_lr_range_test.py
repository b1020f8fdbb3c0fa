import sys; sys.path.insert(0, "/tmp/gen")
from nbgen import md, code, write

cells = [
md("""
# Choosing a learning rate: the LR range test

Of all the settings of a training run, the learning rate is the one that
matters most. Too small, and the network barely moves in the time you give it;
too large, and every step overshoots, the loss bounces or explodes, and with
ReLUs whole units can die for good. The useful range is narrow, and where it
lies depends on the model, the data, the batch size and the optimizer, so no
single number works everywhere.

This chapter measures it instead of guessing. The tool is the *learning-rate
range test*: one short run in which the learning rate grows at every step,
and a curve that shows where the loss falls fastest and where it blows up.
We build it from a `LambdaLR` factor function, run it on chapter 2's network,
compare three rules that read a learning rate off the curve, check them by
actually training, look at curves that go wrong, and repeat the test with the
`torch-lr-finder` package to see what it leaves behind.
"""),
code("""
import copy
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
from ipywidgets import FloatSlider
from torch import nn

from lrlib import TwoBlockCNN, get_device, glue, seed_everything
from lrlib.explorer import FigureExplorer
from lrlib.pipeline import load_rps_data
from lrlib.range_test import lr_factor, plot_range_test, range_test
from lrlib.suggestions import suggest_all
from lrlib.training import Trainer

device = get_device()
data = load_rps_data()
print(data.folders.describe())
train_size = glue("train_size", len(data.train))
print(f"{train_size} training and {len(data.val)} validation images")
"""),
md("""
Every experiment below starts from the same place as chapter 2: a
`TwoBlockCNN` with 5 filters and dropout 0.3, Adam, mini-batches of 16, and the
same seed. `fresh_start` builds that starting point, so that two runs that call
it see the same initial weights, the same shuffling and the same dropout masks.
"""),
code("""
BATCH_SIZE, SEED, CHAPTER2_LR = 16, 13, 3e-4
criterion = nn.CrossEntropyLoss()


def fresh_start(lr: float = CHAPTER2_LR):
    \"\"\"Chapter 2's model and optimizer, freshly initialized, and seeded loaders.\"\"\"
    generator = seed_everything(SEED)
    model = TwoBlockCNN(n_filters=5, p=0.3).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    train_loader, val_loader = data.loaders(BATCH_SIZE, generator=generator)
    return model, optimizer, train_loader, val_loader
"""),
md("""
## What a grid search costs

Useful learning rates range from about $10^{-6}$ to $1$. The classic way to
find one is a grid search: train once per candidate, each a factor of 10
(or of about 3: 1, 3, 10, 30, ...) above the previous one, and keep the best.
Each candidate costs a full training run.
"""),
code("""
def grid(low: float, high: float, per_decade: int) -> np.ndarray:
    \"\"\"Candidates from low to high, `per_decade` of them per factor of 10.\"\"\"
    decades = round(np.log10(high / low))
    return low * 10 ** (np.arange(decades * per_decade + 1) / per_decade)


tens = grid(1e-6, 1.0, per_decade=1)
threes = grid(1e-6, 1.0, per_decade=2)  # 10 ** 0.5 = 3.16: the "1, 3, 10" grid
print("factor 10:", np.array2string(tens, precision=0))
print("factor ~3:", np.array2string(threes, precision=1))

epochs = 10  # chapter 2's training
steps_per_epoch = len(data.loaders(BATCH_SIZE)[0])
grid_steps = len(threes) * epochs * steps_per_epoch
range_test_steps = 100
glue("n_tens", len(tens))
glue("n_threes", len(threes))
glue("steps_per_epoch", steps_per_epoch)
glue("grid_steps", grid_steps)
glue("range_test_steps", range_test_steps)
glue("grid_ratio", grid_steps / range_test_steps)
print(f"grid search, factor ~3: {len(threes)} runs x {epochs} epochs x {steps_per_epoch} "
      f"mini-batches = {grid_steps:,} optimizer steps")
print(f"range test: {range_test_steps} optimizer steps, {grid_steps / range_test_steps:.0f} times fewer")
"""),
md("""
A factor of 10 gives {glue:text}`n_tens` candidates, a factor of about 3
gives {glue:text}`n_threes`. With chapter 2's 10 epochs of
{glue:text}`steps_per_epoch` mini-batches, the finer grid costs
{glue:text}`grid_steps:,` optimizer steps, and it still only says that the
best rate lies within a factor of 3 of a grid point. The range test below
takes {glue:text}`range_test_steps` steps, {glue:text}`grid_ratio:.0f` times
fewer.

## The range test

Leslie Smith described the test in "Cyclical Learning Rates for Training
Neural Networks" (2017). Start from the untrained model and take `num_iter`
optimizer steps, one mini-batch each. The first step uses a tiny learning rate
`start_lr`, every next step a larger one, and the last step uses `end_lr`;
record the loss at every step. While the rate is tiny the loss hardly moves;
as it grows, the loss starts to fall, faster and faster; at some point the
steps become too large and the loss turns around and shoots up. Plotted
against the learning rate, the loss traces a tipped-over U, and a good
learning rate lies on its descending side.

Two details matter. The rates grow *exponentially* (equal steps in
$\\log(\\text{lr})$, so every decade gets as many points) or *linearly*, and the
test is a measurement, not training: afterwards the model and optimizer must be
exactly as before, since the weights it leaves behind were trained at absurd
rates.

## A factor function for `LambdaLR`

PyTorch's `LambdaLR` sets the learning rate of step $i$ to the optimizer's
initial rate times `factor(i)`. Starting from `start_lr`, an exponential test
needs

$$\\text{factor}(i) = \\left(\\frac{\\text{end\\_lr}}{\\text{start\\_lr}}\\right)^{i/(n-1)},
\\qquad i = 0, \\dots, n-1,$$

where $n$ is `num_iter`, the number of rates tried: $\\text{factor}(0) = 1$
gives `start_lr`, and $\\text{factor}(n-1)$ gives `end_lr`. The linear test
interpolates: $\\text{factor}(i) = 1 + (\\text{end\\_lr}/\\text{start\\_lr} - 1)\\, i/(n-1)$.
"""),
md("""
```{literalinclude} ../lrlib/range_test.py
:pyobject: lr_factor
```
"""),
md("""
A classic example asks for "10 rates from 0.01 to 0.1, exponentially" and
lists 0.01, 0.012589, ..., 0.1. Those two statements disagree, and it is worth
seeing why. Hitting both ends with 10 rates means 9 equal steps in
$\\log_{10}$, each a factor $10^{1/9}$. The value 0.012589 is $10^{-1.9}$, a
step of $10^{1/10}$: that is 11 rates (10 steps). The classic formula,
$(\\text{end}/\\text{start})^{i/n}$ evaluated for $i = 0, \\dots, n-1$, has
steps of $10^{1/10}$ with $n = 10$, but then it never reaches 0.1: its last rate
is $10^{-1.1}$. The cell computes all three.
"""),
code("""
start, end = 0.01, 0.1
ten_rates = [start * lr_factor(start, end, num_iter=10)(i) for i in range(10)]
eleven_rates = [start * lr_factor(start, end, num_iter=11)(i) for i in range(11)]
classic = [start * (end / start) ** (i / 10) for i in range(10)]

for name, rates in [("lrlib, 10 rates", ten_rates), ("lrlib, 11 rates", eleven_rates),
                    ("i / num_iter, 10 rates", classic)]:
    print(f"{name:>22}: " + ", ".join(f"{lr:.6f}" for lr in rates))

glue("second_of_10", ten_rates[1])
glue("second_of_11", eleven_rates[1])
glue("classic_last", classic[-1])
np.testing.assert_allclose(ten_rates, np.geomspace(0.01, 0.1, 10), rtol=1e-12)
np.testing.assert_allclose(eleven_rates, np.logspace(-2, -1, 11), rtol=1e-12)
assert round(eleven_rates[1], 6) == 0.012589 and round(ten_rates[1], 6) == 0.012915
assert ten_rates[-1] == eleven_rates[-1] == end
"""),
md("""
With 10 rates the second one is {glue:text}`second_of_10:.6f`; with 11 rates
it is {glue:text}`second_of_11:.6f`, the classic value; the classic formula
with 10 rates stops at {glue:text}`classic_last:.6f`. lrlib's convention is
that `num_iter` counts the rates tried and both ends are hit: you get exactly
the range you asked for, the last point of the curve is `end_lr`, and it is
also torch-lr-finder's convention, so the two curves can be compared point by
point later on.

The factor function is meant for `LambdaLR`, so the real check is PyTorch's:
attach it to an optimizer, step, and read `get_last_lr()`.
"""),
code("""
for step_mode, expected in [("exp", np.geomspace(start, end, 10)),
                            ("linear", np.linspace(start, end, 10))]:
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=start)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_factor(start, end, num_iter=10, step_mode=step_mode))
    seen = []
    for _ in range(10):
        seen.append(scheduler.get_last_lr()[0])  # the rate the next step will use
        optimizer.step()
        scheduler.step()
    np.testing.assert_allclose(seen, expected, rtol=1e-12)
    print(f"{step_mode:>6}: " + ", ".join(f"{lr:.4f}" for lr in seen))
"""),
md("""
`LambdaLR` reproduces both sequences. lrlib's `range_test` uses the same
factors but sets each group's `lr` directly: a scheduler attached for the
test would leave traces on the optimizer (we will see them with
torch-lr-finder).

## Running the test on chapter 2's network

`range_test` takes the model, the optimizer, the loss and a training loader.
The heart of it is a short loop: set the rate, take one step, record the
loss, smooth it, stop if it has diverged. Everything runs inside `_restored`,
which puts the model, the optimizer and the random number generators back on
the way out, even after an exception or Ctrl-C.
"""),
md("""
```{literalinclude} ../lrlib/range_test.py
:pyobject: range_test
:start-at: with _restored(
:end-before: lrs_array = np.array
:dedent: 4
```
"""),
md("""
We run it with Adam, as chapter 2 trained, from $10^{-5}$ to $1$ in
{glue:text}`range_test_steps` steps, and check that the model and the
optimizer come back untouched.
"""),
code("""
model, optimizer, train_loader, val_loader = fresh_start()
weights_before = copy.deepcopy(model.state_dict())

result = range_test(model, optimizer, criterion, train_loader,
                    start_lr=1e-5, end_lr=1.0, num_iter=range_test_steps, beta=0.95)

for name, tensor in model.state_dict().items():
    torch.testing.assert_close(tensor, weights_before[name], rtol=0, atol=0)
assert optimizer.param_groups[0]["lr"] == CHAPTER2_LR and not optimizer.state
print(f"{len(result.losses)} points, stopped: {result.stop_reason}")
print(f"learning rates {result.lrs[0, 0]:g} to {result.lrs[-1, 0]:g}")
"""),
md("""
### Smoothing the curve

One mini-batch per point makes the raw loss noisy, so the test smooths it with
an exponentially weighted moving average, $a_t = \\beta a_{t-1} + (1-\\beta)
x_t$ with $a_0 = 0$. Starting from zero pulls the first averages towards
zero: after $t$ points the weights sum to $1 - \\beta^t$, not 1. Dividing by
that sum, $s_t = a_t / (1 - \\beta^t)$, removes the bias (the same correction
Adam uses, chapter 4). Without it the curve starts near zero and climbs, a fake
"minimum" at the smallest rates.

$\\beta$ sets how many points the average spans, about $1/(1-\\beta)$: 20
points for $\\beta = 0.95$, 50 for $0.98$. A long average is smooth but lags:
the smoothed curve turns up only after the raw one did, so its minimum shifts
to larger rates. With {glue:text}`range_test_steps` points, $\\beta = 0.95$ is
a reasonable compromise; lrlib's default of 0.98 suits longer tests.
"""),
code("""
def smooth(losses: np.ndarray, beta: float, bias_correction: bool = True) -> np.ndarray:
    \"\"\"The exponentially weighted moving average of `losses`, as the range test computes it.\"\"\"
    average, out = 0.0, []
    for t, loss in enumerate(losses, start=1):
        average = beta * average + (1 - beta) * loss
        out.append(average / (1 - beta**t) if bias_correction else average)
    return np.array(out)


lrs, raw = result.lrs[:, 0], result.losses
np.testing.assert_allclose(smooth(raw, 0.95), result.smoothed_losses, rtol=1e-12)
"""),
code("""
fig, ax = plt.subplots(figsize=(8, 3.8))
ax.plot(lrs, raw, color="0.75", label="raw loss")
ax.plot(lrs, smooth(raw, 0.95, bias_correction=False), "--", color="tab:red",
        label="β = 0.95, no bias correction")
ax.plot(lrs, smooth(raw, 0.95), color="tab:blue", label="β = 0.95, bias-corrected")
ax.plot(lrs, smooth(raw, 0.98), color="tab:green", label="β = 0.98, bias-corrected")
ax.set(xscale="log", xlabel="learning rate", ylabel="loss", ylim=(0, 1.1 * raw.max()))
ax.legend(loc="lower left")
fig.tight_layout()
""", caption="The raw losses of the range test and three moving averages of them. Without bias "
             "correction the average starts near zero and takes about 20 points to climb to the "
             "loss. The bias-corrected averages start at the first loss; the one with beta = 0.98 "
             "lags more, so its minimum sits further right.", name="fig-lr-smoothing"),
md("""
Drag the slider to change $\\beta$ and watch the three suggestions (next
section) move with it. On the website the picture stays at $\\beta = 0.95$.
"""),
code("""
def draw_smoothing(ax, beta: float) -> None:
    smoothed = smooth(raw, beta)
    ax.plot(lrs, raw, color="0.8")
    ax.plot(lrs, smoothed, color="tab:blue")
    for k, s in enumerate(suggest_all(lrs, smoothed).values(), start=1):
        ax.axvline(s.lr, color=f"C{k}", ls=":", label=f"{s.rule}: {s.lr:.2g}")
    ax.set(xscale="log", xlabel="learning rate", ylabel="loss", title=f"β = {beta:.2f}")
    ax.legend(loc="lower left")


FigureExplorer(draw_smoothing, {"beta": FloatSlider(value=0.95, min=0.0, max=0.99, step=0.01,
                                                    description="β")})
"""),
md("""
The test also stops by itself once the loss has clearly diverged: when the
smoothed loss exceeds `diverge_th` (default 5) times the best smoothed loss so
far, or when a loss is NaN or infinite. The rates beyond that point would
only stretch the y-axis. Here the test ended with `stop_reason` printed above:
with cross-entropy over 3 classes, a network wrecked by a huge rate tends to
settle near $\\ln 3 \\approx 1.1$ (it predicts the same thing for every image)
instead of exploding, so the curve may rise without ever reaching 5 times its
minimum.

## Reading the curve: three rules

All three rules are pure functions of the learning rates and the smoothed
losses (`lrlib.suggestions`), so they apply to any curve:

- **steepest descent**: the rate where the loss falls fastest per decade of
  learning rate, the slope taken against $\\log_{10}(\\text{lr})$;
- **minimum/10**: a tenth of the rate at the lowest loss. At the minimum the
  rate is already about to be too large; one decade below is fast but safe;
- **valley**: two thirds of the way down the longest uninterrupted descent,
  an idea made popular by fastai.
"""),
md("""
```{literalinclude} ../lrlib/suggestions.py
:pyobject: valley
```
"""),
code("""
fig, ax = plt.subplots(figsize=(8, 4))
plot_range_test(result, ax=ax)
ax.axvline(CHAPTER2_LR, color="0.5", ls="--", lw=1)
ax.annotate("chapter 2", (CHAPTER2_LR, ax.get_ylim()[0]), xytext=(3, 5),
            textcoords="offset points", color="0.4")
fig.tight_layout()
""", caption="The range test of chapter 2's CNN with Adam. The loss stays flat while the rate is "
             "tiny, falls faster and faster as it grows, bottoms out, and climbs back when the "
             "steps get too large. Each rule marks its suggestion on the same smoothed curve; "
             "the dashed line is chapter 2's rate.", name="fig-lr-range-test"),
code("""
suggestions = result.suggestions
minimum_lr = glue("minimum_lr", float(lrs[np.argmin(result.smoothed_losses)]))
for rule, suggestion in suggestions.items():
    glue(f"lr_{rule.replace('/', '_')}", suggestion.lr)
    print(f"{rule:>10}: {suggestion.lr:.2e}")
print(f"lowest smoothed loss at lr = {minimum_lr:.2e}")
smallest = min(s.lr for s in suggestions.values())
glue("suggestion_spread", max(s.lr for s in suggestions.values()) / smallest)
glue("above_chapter2", smallest / CHAPTER2_LR)
"""),
md("""
Steepest descent suggests {glue:text}`lr_steepest:.2e`, minimum/10
{glue:text}`lr_minimum_10:.2e` (the lowest loss is at
{glue:text}`minimum_lr:.2e`) and valley {glue:text}`lr_valley:.2e`: the rules
agree within a factor of {glue:text}`suggestion_spread:.1f`. The smallest of
them is {glue:text}`above_chapter2:.1f` times chapter 2's $3 \\times 10^{-4}$. Steepest descent is the most fragile of the
three: it looks at a single point of a derivative, and a little noise moves it.

## Do the suggestions train well?

A rate read off a curve is a hypothesis. The test is to train with each:
same initial weights, same batches, one epoch with Adam (the optimizer the
range test was run with), and compare the validation loss and accuracy.
"""),
code("""
TRAIN_EPOCHS = 1
histories, trainers = {}, {}
for rule, suggestion in suggestions.items():
    model, optimizer, train_loader, val_loader = fresh_start(lr=suggestion.lr)
    trainer = Trainer(model, criterion, optimizer, train_loader, val_loader,
                      track_accuracy=True, device=device, progress=False)
    histories[rule], trainers[rule] = trainer.fit(TRAIN_EPOCHS), trainer

print(f"{'rule':>10} {'lr':>9} {'train loss':>11} {'val loss':>9} {'val accuracy':>13}")
for rule, history in histories.items():
    print(f"{rule:>10} {suggestions[rule].lr:9.2e} {history['train_loss'][-1]:11.3f} "
          f"{history['val_loss'][-1]:9.3f} {history['val_accuracy'][-1]:13.1%}")
best_rule = max(histories, key=lambda rule: histories[rule]["val_accuracy"][-1])
glue("best_accuracy", float(histories[best_rule]["val_accuracy"][-1]))
glue("worst_accuracy", float(min(h["val_accuracy"][-1] for h in histories.values())))
print(f"best after {TRAIN_EPOCHS} epoch: {best_rule}")
"""),
md("""
After one epoch the best suggestion reaches
{glue:text}`best_accuracy:.1%` validation accuracy and the worst
{glue:text}`worst_accuracy:.1%` (chance is 33 %). The table says which rule
won on this data. One epoch is a short trial: they reward rates that learn
fast at the start, and a rate that is slightly too high can still look good
here and stall later (the last section comes back to that). Still, this is the
check that counts, and it is cheap compared with a grid: a few short runs
around the range the curve pointed to.

## When there is no U

The curve only helps if it shows both the descent and the blow-up. Two ways
to miss: a test that **starts too high** is already past the descent at its
first point, and a test that **ends too low** never reaches the blow-up.
Here are both, 50 steps each, on the same network. With its default
threshold the first would stop almost at once (its loss diverges in the first
steps), so both run with `diverge_th=None` to show the whole curve.
"""),
code("""
no_u = {}
for label, start_lr, end_lr in [("starts too high", 0.05, 10.0), ("ends too low", 1e-5, 3e-2)]:
    model, optimizer, train_loader, _ = fresh_start()
    no_u[label] = range_test(model, optimizer, criterion, train_loader, start_lr=start_lr,
                             end_lr=end_lr, num_iter=50, beta=0.95, diverge_th=None)
    curve = no_u[label]
    print(f"{label}: {curve.lrs[0, 0]:g} to {curve.lrs[-1, 0]:g}, stopped: {curve.stop_reason}, "
          f"suggestions: " + ", ".join(f"{s.rule} {s.lr:.1e}" for s in curve.suggestions.values()))
"""),
code("""
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
for ax, (label, curve) in zip(axes, no_u.items()):
    ax.plot(curve.lrs[:, 0], curve.losses, color="0.8", label="raw loss")
    ax.plot(curve.lrs[:, 0], curve.smoothed_losses, color="tab:blue", label="smoothed")
    ax.set(xscale="log", xlabel="learning rate", ylabel="loss", title=label)
    ax.legend()
axes[0].set_ylim(0, 3 * no_u["starts too high"].losses[0])  # the first jump would flatten the rest
fig.tight_layout()
""", caption="Two range tests without a U. Left: starting at 0.05, the first steps already "
             "wreck the network: the loss jumps, and never gets back below where it started "
             "(the smoothed curve falls only because the average forgets the jump); lower the "
             "start. Right: ending at 0.03, the loss has only begun to fall; raise the end. The "
             "rules still return numbers for both curves.", name="fig-lr-no-u"),
md("""
How to read them:

- **No descent below the first point** (left): the loss jumps in the first
  steps and never gets clearly below where it started. The start is already
  too high. Whatever the rules say, the good rates are below
  the range; lower `start_lr` by a few decades and run again.
- **Only falling** (right): the end is too low. The best rate may be anywhere
  above the range; raise `end_lr` until the curve turns up.
- **Flat everywhere**: the range is too narrow, the model does not learn at
  all (check the data and the loss), or the test is too short to show a
  trend; widen it or raise `num_iter`.

The rules do not know any of this: they always return a number. So look at
the curve before trusting a suggestion, and treat the suggestion as a
ballpark, not an oracle. The curve depends on the initial weights, the batch
size, the optimizer and its other settings, the number of steps and the
smoothing; it measures what one step does to the *untrained* model, over a
handful of mini-batches. It tells you the right order of magnitude; short
trainings like the ones above tell you the rest.

## The same test with torch-lr-finder

[`torch-lr-finder`](https://github.com/davidtvs/pytorch-lr-finder) is the
package most people use for this test. We run it on the same start (model,
weights, shuffling and dropout seeds), with the same rates, the same number of
steps and the same smoothing factor (its `smooth_f` is $1 - \\beta$). Its
`range_test` shows a progress bar and prints a message when it is done.

Before the run, the model is put in evaluation mode, as it would be right
after an evaluation, and a snapshot records everything a test might change.
"""),
code("""
with warnings.catch_warnings():  # tqdm warns, once, that the package uses tqdm.autonotebook
    warnings.simplefilter("ignore")
    from torch_lr_finder import LRFinder


def snapshot(model, optimizer, loader) -> dict:
    return {"weights": copy.deepcopy(model.state_dict()),
            "optimizer": copy.deepcopy(optimizer.state_dict()),
            "training": model.training,
            "torch_rng": torch.get_rng_state(),
            "loader_rng": loader.generator.get_state()}


def left_behind(model, optimizer, loader, before: dict) -> dict:
    \"\"\"What differs from the snapshot `before`: True means changed.\"\"\"
    weights = model.state_dict()
    return {
        "weights changed": any(not torch.equal(weights[k], v) for k, v in before["weights"].items()),
        "learning rate changed": optimizer.param_groups[0]["lr"] != before["optimizer"]["param_groups"][0]["lr"],
        "Adam's moments filled": len(optimizer.state) > len(before["optimizer"]["state"]),
        "'initial_lr' in param_groups": any("initial_lr" in g for g in optimizer.param_groups),
        "optimizer.step wrapped": "step" in vars(optimizer),
        "gradients on parameters": any(p.grad is not None for p in model.parameters()),
        "train/eval mode changed": model.training != before["training"],
        "torch RNG advanced": not torch.equal(torch.get_rng_state(), before["torch_rng"]),
        "loader's RNG advanced": not torch.equal(loader.generator.get_state(), before["loader_rng"]),
    }


model, optimizer, train_loader, _ = fresh_start()
model.eval()
before = snapshot(model, optimizer, train_loader)
finder = LRFinder(model, optimizer, criterion, device=device)
finder.range_test(train_loader, start_lr=1e-5, end_lr=1.0, num_iter=range_test_steps,
                  smooth_f=0.05, diverge_th=5)
theirs_lrs, theirs = np.array(finder.history["lr"]), np.array(finder.history["loss"])
"""),
md("""
Its learning rates are ours exactly. It keeps only the smoothed curve, but
its smoothing is a recursion we can apply to our raw losses: if both tests
took the same steps on the same mini-batches, the results must agree.
"""),
code("""
np.testing.assert_allclose(theirs_lrs, lrs, rtol=1e-12)

their_recursion = [raw[0]]  # torch-lr-finder starts the average at the first loss
for loss in raw[1:]:
    their_recursion.append(0.05 * loss + 0.95 * their_recursion[-1])
np.testing.assert_allclose(theirs, their_recursion, rtol=1e-5)

ours_on_theirs = suggest_all(theirs_lrs, theirs)
for rule in suggestions:
    print(f"{rule:>10}: lrlib's curve {suggestions[rule].lr:.2e}, "
          f"torch-lr-finder's curve {ours_on_theirs[rule].lr:.2e}")
max_gap = glue("max_curve_gap", float(np.max(np.abs(theirs - result.smoothed_losses))))
"""),
code("""
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
plot_range_test(result, ax=axes[0])
axes[0].set_title("lrlib.range_test")
axes[1].plot(theirs_lrs, theirs, color="tab:orange", label="torch-lr-finder (smoothed)")
axes[1].plot(lrs, result.smoothed_losses, color="tab:blue", ls=":", label="lrlib (smoothed)")
axes[1].set(xscale="log", xlabel="learning rate", title="torch-lr-finder")
axes[1].legend()
fig.tight_layout()
""", caption="The same range test, run by lrlib (left, with its suggestions) and by "
             "torch-lr-finder (right, lrlib's curve dotted for comparison). Same rates, same "
             "mini-batches, same raw losses; the smoothed curves differ mainly over the first few "
             "dozen points, because torch-lr-finder starts its average at the first loss instead of correcting the "
             "bias.", name="fig-lr-finder-compare"),
md("""
The raw losses are identical; the smoothed curves differ by at most
{glue:text}`max_curve_gap:.3f`, and the gap shrinks as the test goes on: torch-lr-finder
sets $s_1 = x_1$ and then averages, which gives the first loss a weight
$\\beta^{t-1}$ that fades more slowly than in the bias-corrected average.

### What is left behind

torch-lr-finder stores the model's and the optimizer's state dicts when it is
created, and `reset()` loads them back. Until you call it, the model keeps the
weights trained at rates up to 1. Let us look before and after `reset()`,
and at lrlib's `range_test` on the same start.
"""),
code("""
no_reset = left_behind(model, optimizer, train_loader, before)
lr_left = glue("lr_left", optimizer.param_groups[0]["lr"])
try:
    LRFinder(model, optimizer, criterion)  # a second test on the same optimizer
except RuntimeError as error:
    print(f"RuntimeError: {error}")

finder.reset()
after_reset = left_behind(model, optimizer, train_loader, before)

model, optimizer, train_loader, _ = fresh_start()
model.eval()
before = snapshot(model, optimizer, train_loader)
again = range_test(model, optimizer, criterion, train_loader, start_lr=1e-5, end_lr=1.0,
                   num_iter=range_test_steps, beta=0.95)
with_lrlib = left_behind(model, optimizer, train_loader, before)
np.testing.assert_array_equal(again.losses, result.losses)  # same start, same curve

print(f"\\n{'':>30} {'no reset':>9} {'reset()':>9} {'lrlib':>9}")
for check in no_reset:
    print(f"{check:>30} {no_reset[check]!s:>9} {after_reset[check]!s:>9} {with_lrlib[check]!s:>9}")
"""),
code("""
assert all(no_reset.values())  # without reset() everything is changed
assert not any(after_reset[k] for k in ["weights changed", "learning rate changed",
                                        "Adam's moments filled", "'initial_lr' in param_groups"])
assert all(after_reset[k] for k in ["optimizer.step wrapped", "gradients on parameters",
                                    "train/eval mode changed", "torch RNG advanced",
                                    "loader's RNG advanced"])
assert not any(with_lrlib.values())
"""),
md("""
Without `reset()`, everything has changed: the weights are those of a network
trained at ever larger rates, the optimizer's learning rate is
{glue:text}`lr_left:.3g` (one scheduler step past the last rate it tried),
Adam's moment estimates are filled with the
test's gradients, and the scheduler torch-lr-finder attached has left an
`initial_lr` in every parameter group. That key is how PyTorch recognizes an
optimizer that already has a scheduler: a second `LRFinder` refuses to start
(the error above), and a scheduler you create afterwards takes `initial_lr`,
the test's start, as its base rate instead of the rate you set. Training
"after the test" would continue from the wreckage.

`reset()` restores the weights, the learning rate and Adam's state, and
loading the optimizer's state dict also drops `initial_lr`. Some things it
does not touch: the gradients of the last step stay on the parameters, the
model stays in training mode, PyTorch's random number generator and the
loader's shuffling generator have moved on (so a run after the test does not
repeat a run without it), and `optimizer.step` is still the wrapper the
scheduler installed. None of these breaks training on its own, but each is a
difference between "I ran a test" and "I did not", and they are easy to
trip over: an evaluation that assumes eval mode, a gradient check that finds
stale gradients, a seeded experiment that no longer reproduces.

lrlib's `range_test` restores all of it, and never attaches a scheduler:
"""),
md("""
```{literalinclude} ../lrlib/range_test.py
:pyobject: _restored
```
"""),
md("""
## A good rate at the start may be too high later

The range test looks at the untrained network. Once the network has learned,
the question changes: there is less loss left to remove, and a step that was
harmless at the start can now throw away what was learned. Here is the same
test on the network trained with the best suggestion, continuing with its own
optimizer (Adam's moments included), so it measures what one more step at each
rate does at this point of training. The divergence stop is off, to see the
whole curve.
"""),
code("""
trainer = trainers[best_rule]
later = range_test(trainer.model, trainer.optimizer, criterion, trainer.train_loader,
                   start_lr=1e-5, end_lr=1.0, num_iter=range_test_steps, beta=0.95,
                   diverge_th=None)
later_lrs = later.lrs[:, 0]
glue("best_lr", suggestions[best_rule].lr)
glue("start_loss", float(result.smoothed_losses[0]))
glue("later_base", float(np.median(later.smoothed_losses[:20])))
glue("later_at_minimum", float(np.interp(np.log10(minimum_lr), np.log10(later_lrs),
                                          later.smoothed_losses)))
glue("later_last", float(later.smoothed_losses[-1]))

fig, ax = plt.subplots(figsize=(8, 3.8))
ax.plot(lrs, result.smoothed_losses, label="untrained network")
ax.plot(later_lrs, later.smoothed_losses, label=f"after {TRAIN_EPOCHS} epoch")
ax.axvline(suggestions[best_rule].lr, color="0.5", ls="--", lw=1)
ax.set(xscale="log", xlabel="learning rate", ylabel="smoothed loss", ylim=(0, None))
ax.legend()
fig.tight_layout()
""", caption="The range test at the start of training and after one epoch (dashed: the rate "
             "that epoch was trained with). The untrained network has a long way down; the "
             "trained one has little left to gain, and large rates throw it back up to the loss "
             "of an untrained network.", name="fig-lr-later"),
md("""
At small rates the trained network's smoothed loss is about
{glue:text}`later_base:.2f`, against {glue:text}`start_loss:.2f` for the
untrained one. At {glue:text}`minimum_lr:.2e`, where the untrained network's
loss was lowest, it is {glue:text}`later_at_minimum:.2f`, and at the end of
the range {glue:text}`later_last:.2f`. The curve no longer has a descent to
read, only a point where it starts to rise; the rules of this chapter do not
apply to it.

This is the general pattern. Early on, large steps are what you want: the
loss is high and the gradient points a long way downhill. Near a minimum the
same steps overshoot, and a constant rate keeps the loss bouncing at a level
that grows with the rate. One learning rate for the whole run, such as
{glue:text}`best_lr:.2e` here, is a compromise: large enough to make progress
early, too large to settle later. Two answers follow in the next chapters.
Adaptive methods (chapter 4, Adam) scale each parameter's step by the size of
its recent gradients, and learning-rate schedulers (chapters 6 and 7) lower
the rate as training goes on, often starting from the rate a range test found.

## Summary

- The learning rate matters most and varies by orders of magnitude; a grid
  search pays a full training per candidate.
- The range test takes one step per rate while the rate grows from `start_lr`
  to `end_lr`; `lrlib.range_test.lr_factor` gives its factors for
  `LambdaLR`, with `num_iter` rates and both ends included.
- Smooth the loss with a bias-corrected moving average, stop when it
  diverges, and read the descending side of the U. Steepest descent,
  minimum/10 and valley give candidates; a few short trainings decide.
- No U means the range is wrong: start lower, end higher.
- torch-lr-finder measures the same curve; call `reset()`, and know what it
  does not restore. `lrlib.range_test.range_test` restores everything.
- The best rate changes as training goes on: the bridge to Adam and to
  schedulers.
"""),
]

write("/work/main/book/03_lr_range_test.ipynb", cells)
print("written")
