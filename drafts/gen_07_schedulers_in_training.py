import sys
sys.path.insert(0, "/tmp/gen")
from nbgen import md, code, write

cells = [
md(r"""
# Schedulers in training

Chapter 6 traced every scheduler on an optimizer that trained nothing. This
chapter puts schedulers into real training loops and answers the practical
questions: where does `scheduler.step()` go, how does a scheduler watch a
validation metric, how do parameter groups and frozen layers interact with it,
how is a run saved and resumed without the schedule noticing, and which
schedule actually trains the book's CNN best in a short run.
"""),
code(r"""
import tempfile
import textwrap
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown
from torch import nn
from torch.optim import lr_scheduler as L

import lrlib
from lrlib import glue, seed_everything
from lrlib.checkpoint import load_checkpoint, save_checkpoint
from lrlib.pipeline import load_rps_data
from lrlib.schedulers import cycle_from_loader
from lrlib.training import Trainer, accuracy, scheduler_step_kind

device = lrlib.get_device()
SEED = 42
data = load_rps_data()
print(data.folders.describe())
loss_fn = nn.CrossEntropyLoss()


def fresh_run(seed=SEED, batch_size=16, n_filters=5, p=0.3):
    # The same model initialization and the same batch order for every run that uses this seed.
    generator = seed_everything(seed)
    train_loader, val_loader = data.loaders(batch_size, generator=generator)
    model = lrlib.TwoBlockCNN(n_filters=n_filters, p=p).to(device)
    return model, train_loader, val_loader
"""),
md(r"""
## Where `step()` goes

Since PyTorch 1.1 the order is fixed: `optimizer.step()` first, then
`scheduler.step()`. (Before 1.1, many tutorials called the scheduler at the
*start* of each epoch; code written that way now skips the first value of the
schedule, and PyTorch warns about it.) Within that rule, a scheduler belongs
to one of three kinds:

- **epoch schedulers** (`StepLR`, `MultiStepLR`, `ExponentialLR`,
  `CosineAnnealingLR`, ...) step once, at the end of every epoch;
- **metric schedulers** (`ReduceLROnPlateau`) also step once per epoch, but
  after validation, and are *given* the measured value: `scheduler.step(val_loss)`,
  or `scheduler.step(val_accuracy)` with `mode="max"`, because accuracy should
  go up;
- **mini-batch schedulers** (`CyclicLR`, `OneCycleLR`, and
  `CosineAnnealingWarmRestarts` when used with fractional epochs) step after
  every `optimizer.step()`; their periods are counted in batches.

`lrlib`'s trainer puts each call in its place. The epoch loop:

```{literalinclude} ../lrlib/training.py
:pyobject: Trainer.fit
```

the mini-batch loop, with the mini-batch scheduler right after the optimizer:

```{literalinclude} ../lrlib/training.py
:pyobject: Trainer.train_one_epoch
```

and the end of the epoch, where epoch and metric schedulers step:

```{literalinclude} ../lrlib/training.py
:pyobject: Trainer._step_scheduler_after_epoch
```

The kind is read off the scheduler's class (pass `scheduler_step=` to the
trainer to override it):
"""),
code(r"""
w = torch.zeros(1, requires_grad=True)
opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
examples = {
    "StepLR": L.StepLR(opt, step_size=3),
    "ExponentialLR": L.ExponentialLR(opt, gamma=0.9),
    "CosineAnnealingLR": L.CosineAnnealingLR(opt, T_max=10),
    "ReduceLROnPlateau": L.ReduceLROnPlateau(opt, mode="max"),
    "CyclicLR": L.CyclicLR(opt, base_lr=0.01, max_lr=0.1),
    "OneCycleLR": L.OneCycleLR(opt, max_lr=0.1, total_steps=100),
}
for name, sched in examples.items():
    print(f"{name:>18}: steps per {scheduler_step_kind(sched)}")
"""),
md(r"""
What happens with the pre-1.1 order? Calling `scheduler.step()` before the
first `optimizer.step()` moves the schedule one step ahead: the first epoch
never sees the initial learning rate. PyTorch detects it and warns:
"""),
code(r"""
def first_epoch_lrs(scheduler_first):
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    sched = L.StepLR(opt, step_size=1, gamma=0.5)
    lrs = []
    for epoch in range(3):
        if scheduler_first:
            sched.step()  # the pre-1.1 habit
        lrs.append(opt.param_groups[0]["lr"])
        w.grad = torch.ones(1)
        opt.step()
        if not scheduler_first:
            sched.step()  # the correct place
    return lrs


with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    old_order = first_epoch_lrs(scheduler_first=True)
print("scheduler first:", old_order)
print("optimizer first:", first_epoch_lrs(scheduler_first=False))
print("warning:", textwrap.fill(str(caught[0].message), 88))
assert first_epoch_lrs(False)[0] == 0.1 and old_order[0] == 0.05
"""),
md(r"""
## The ResNet recipe: plateau on validation accuracy

He et al. (2016) trained their residual networks with SGD, learning rate 0.1,
momentum 0.9 and weight decay $10^{-4}$, and divided the learning rate by 10
whenever the error stopped improving. In PyTorch that last rule is
`ReduceLROnPlateau(mode="max", factor=0.1)` watching the validation accuracy
(`mode="max"` because accuracy, unlike loss, should rise). The trainer passes
it `history["val_accuracy"][-1]` after every epoch when `monitor="val_accuracy"`.

ImageNet-sized runs wait many epochs before deciding that accuracy has
plateaued; our 8-epoch run uses `patience=1` (one epoch without improvement is
tolerated, the second triggers the cut) and a `threshold` of one point of
accuracy, so that noise does not count as improvement. One caution: 0.1 was
chosen for networks with batch normalization, and our small CNN has none, so
whether it trains at 0.1 is something to look at, not assume.
"""),
code(r"""
model, train_loader, val_loader = fresh_run()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
plateau = L.ReduceLROnPlateau(optimizer, mode="max", factor=0.1, patience=1,
                              threshold=0.01, threshold_mode="abs")
resnet_run = Trainer(model, loss_fn, optimizer, train_loader, val_loader, scheduler=plateau,
                     monitor="val_accuracy", device=device)
resnet_history = resnet_run.fit(8)
for epoch, (lrs, acc) in enumerate(zip(resnet_history["lr"], resnet_history["val_accuracy"]), 1):
    print(f"epoch {epoch}: lr {lrs[0]:.0e}, validation accuracy {acc:.1%}")
"""),
code(r"""
lrs = [lrs[0] for lrs in resnet_history["lr"]]
cuts = [epoch for epoch in range(2, len(lrs) + 1) if lrs[epoch - 1] < lrs[epoch - 2]]
glue("resnet_cuts", ", ".join(str(e) for e in cuts) or "none")
glue("resnet_final_lr", lrs[-1])
glue("resnet_acc", resnet_history["val_accuracy"][-1])
assert all(np.isclose(b / a, 0.1) for a, b in zip(lrs, lrs[1:]) if b != a)  # only ever divided by 10
"""),
md(r"""
The learning rate was divided by 10 at the start of epoch(s)
{glue:text}`resnet_cuts` and ended at {glue:text}`resnet_final_lr:.0e`;
the final validation accuracy is {glue:text}`resnet_acc:.1%`. Each cut
follows epochs in which the accuracy did not rise by more than the threshold.
The schedule is not fixed in advance: it is a *reaction* to the run, which
is why it needs the validation metric every epoch.

## Parameter groups, frozen layers and `zero_grad`

### Different rates for a backbone and a head

An optimizer holds a list of parameter groups, each with its own
hyper-parameters. The classic use is fine-tuning: the pretrained *backbone*
(here the convolutional `featurizer`) moves slowly, the new *head* (the
`classifier`) fast. A scheduler then scales every group relative to its own
starting rate:
"""),
code(r"""
model, train_loader, val_loader = fresh_run()
optimizer = torch.optim.SGD(
    [
        {"params": model.featurizer.parameters(), "lr": 0.005},  # backbone
        {"params": model.classifier.parameters()},  # head: the default lr below
    ],
    lr=0.02, momentum=0.9,
)
scheduler = L.StepLR(optimizer, step_size=1, gamma=0.5)
groups_run = Trainer(model, loss_fn, optimizer, train_loader, val_loader, scheduler=scheduler,
                     track_accuracy=True, device=device, progress=False)
groups_history = groups_run.fit(2)
for epoch, lrs in enumerate(groups_history["lr"], 1):
    print(f"epoch {epoch}: backbone lr {lrs[0]:.4f}, head lr {lrs[1]:.4f}")
assert groups_history["lr"][1] == [0.0025, 0.01]  # each group halved from its own rate
"""),
md(r"""
### Unfreezing mid-training with `add_param_group`

A common fine-tuning schedule trains the head alone first, with the backbone
frozen, then unfreezes the backbone. An optimizer only updates the parameters
it was given, so the backbone is *added* to the optimizer when it is unfrozen,
with `add_param_group` and a rate of its own. (Building a new optimizer instead
would throw away the head's momentum buffers.)
"""),
code(r"""
model, train_loader, val_loader = fresh_run()
model.featurizer.requires_grad_(False)  # frozen: no gradients are computed for it
optimizer = torch.optim.SGD(model.classifier.parameters(), lr=0.02, momentum=0.9)
staged = Trainer(model, loss_fn, optimizer, train_loader, val_loader,
                 track_accuracy=True, device=device, progress=False)
conv_before = model.featurizer.conv1.weight.detach().clone()
staged.fit(1)
assert torch.equal(model.featurizer.conv1.weight, conv_before)  # the frozen backbone did not move

model.featurizer.requires_grad_(True)
optimizer.add_param_group({"params": model.featurizer.parameters(), "lr": 0.005})
staged.fit(1)
assert not torch.equal(model.featurizer.conv1.weight, conv_before)
for epoch, (lrs, acc) in enumerate(zip(staged.history["lr"], staged.history["val_accuracy"]), 1):
    print(f"epoch {epoch}: learning rates {lrs}, validation accuracy {acc:.1%}")
"""),
md(r"""
The history shows one parameter group in the first epoch and two in the
second. Add the group *before* creating a scheduler: a scheduler records each
group's starting rate (`initial_lr`, `base_lrs`) when it is built, and a group
added later is not part of its schedule.

### `zero_grad(set_to_none=True)`

`optimizer.zero_grad()` clears the gradients before the next backward pass.
Since PyTorch 2.0 its default is `set_to_none=True`: instead of filling each
`.grad` with zeros, it drops the tensor (`.grad` becomes `None`). That saves a
memory write per parameter, and the next `backward()` allocates the gradient
afresh. It also changes what the optimizer does: a parameter whose `.grad` is
`None` is *skipped*, while a zero gradient is still an update. With momentum
or weight decay, an update with a zero gradient still moves the parameter:
"""),
code(r"""
def after_one_more_step(set_to_none):
    w = torch.ones(2, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=0.01)
    w.grad = torch.tensor([1.0, -1.0])
    opt.step()  # builds a momentum buffer
    moved_to = w.detach().clone()
    opt.zero_grad(set_to_none=set_to_none)
    opt.step()  # a step without a new backward pass
    return w.grad, torch.equal(w.detach(), moved_to)


for set_to_none in (True, False):
    grad, unchanged = after_one_more_step(set_to_none)
    print(f"set_to_none={set_to_none}: grad is {grad}, parameter unchanged by the step: {unchanged}")
"""),
md(r"""
With `None` the second step leaves the parameter alone; with zeros, momentum
and weight decay carry it on. In a normal loop every trainable parameter gets
a gradient in every backward pass, so both settings train identically; the
difference shows for parameters that sometimes get no gradient (a frozen
layer, an unused branch), and in code that reads `.grad` (it may be `None`).
`lrlib`'s trainer calls `zero_grad(set_to_none=True)`.

## Saving and resuming a run exactly

A run that stops (a preempted job, a closed laptop) should continue as if it
never had. That needs more than the weights: the optimizer's momentum buffers,
the scheduler's position, the epoch counter, and the random number generators
that shuffle the batches and draw the dropout masks. `Trainer.state_dict`
collects all of them:

```{literalinclude} ../lrlib/training.py
:pyobject: Trainer.state_dict
```

The test: train 4 epochs without stopping; then train 2 epochs, save,
build *fresh* model, optimizer, scheduler and loaders, load, and train 2 more.
"""),
code(r"""
def build(seed=SEED):
    model, train_loader, val_loader = fresh_run(seed=seed, p=0.3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, nesterov=True)
    scheduler = L.StepLR(optimizer, step_size=1, gamma=0.7)
    return Trainer(model, loss_fn, optimizer, train_loader, val_loader, scheduler=scheduler,
                   device=device, progress=False)


uninterrupted = build()
uninterrupted.fit(4)

first_half = build()
first_half.fit(2)
checkpoint = Path(tempfile.mkdtemp()) / "epoch2.pt"
save_checkpoint(first_half, checkpoint)
del first_half  # nothing of the first run survives but the file

resumed = build(seed=1234)  # fresh objects, even initialized differently
load_checkpoint(resumed, checkpoint)
resumed.fit(2)

print(sorted(torch.load(checkpoint, weights_only=True)))
for key in ("lr", "train_loss", "val_loss"):
    assert resumed.history[key] == uninterrupted.history[key], key
for a, b in zip(resumed.model.parameters(), uninterrupted.model.parameters()):
    assert torch.equal(a, b)
print("learning rates:", [f"{lrs[0]:.4f}" for lrs in resumed.history["lr"]])
print("identical histories and weights after resuming")
"""),
md(r"""
The learning rates, the training and validation losses, and every weight are
equal bit for bit (`==`, not approximately). The fresh run was even seeded
differently: everything that matters came from the file. The file loads with
`torch.load(..., weights_only=True)`, which refuses to run code hidden in a
checkpoint.

## Scheduler paths on the loss surface

A linear regression, $y = b + w x$, has a two-dimensional loss surface that we
can draw (chapters 4 and 5). Here the same mini-batch SGD runs with a
schedule; each panel shows where the schedule takes the parameters, starting
from the same point.
"""),
code(r"""
from lrlib.figures_optim import plot_loss_curves, plot_loss_surface
from lrlib.linreg import (loss_surface, make_linreg_data, make_linreg_loader,
                          make_linreg_model, record_path)

lin = make_linreg_data(seed=42)
surface = loss_surface(lin.x_train, lin.y_train, np.linspace(-2.5, 3.5, 80), np.linspace(-2.5, 4.5, 80))
START = dict(bias=-2.0, weight=-2.0)
LIN_EPOCHS = 10


def lin_path(make_optimizer, make_scheduler=None, interval="epoch"):
    model = make_linreg_model(**START)
    optimizer = make_optimizer(model.parameters())
    scheduler = make_scheduler(optimizer) if make_scheduler else None
    loader = make_linreg_loader(lin.x_train, lin.y_train, batch_size=16, seed=0)
    return record_path(model, optimizer, loader, LIN_EPOCHS, scheduler, scheduler_interval=interval)


batches = len(make_linreg_loader(lin.x_train, lin.y_train, batch_size=16))
paths = {
    "momentum, constant": lin_path(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    "momentum, StepLR": lin_path(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
                                  lambda o: L.StepLR(o, step_size=3, gamma=0.3)),
    "Nesterov, StepLR": lin_path(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
                                  lambda o: L.StepLR(o, step_size=3, gamma=0.3)),
    "Nesterov, CyclicLR": lin_path(
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
        lambda o: L.CyclicLR(o, base_lr=0.01, max_lr=0.15, step_size_up=batches),
        interval="batch"),
}
"""),
code(r"""
fig, axes = plt.subplots(1, 3, figsize=(14, 4))
plot_loss_surface(surface, {k: paths[k] for k in ("momentum, constant", "momentum, StepLR")}, ax=axes[0])
plot_loss_surface(surface, {k: paths[k] for k in ("Nesterov, StepLR", "Nesterov, CyclicLR")}, ax=axes[1])
plot_loss_curves({k: p.epoch_losses for k, p in paths.items()}, xlabel="epoch", log_scale=True, ax=axes[2])
fig.tight_layout()
""", caption="Left: SGD with momentum at a constant rate circles the minimum; StepLR shrinks the circles every three epochs. Middle: Nesterov's look-ahead damps the swing; the cyclical rate speeds up and slows down in turn. Right: the training loss per epoch of all four.", name="fig-ch7-paths"),
code(r"""
final_losses = {name: path.epoch_losses[-1] for name, path in paths.items()}
for name, value in final_losses.items():
    print(f"{name:>20}: final epoch loss {value:.4f}")
glue("path_best_loss", surface.best_loss)
glue("path_loss_constant", final_losses["momentum, constant"])
_ = glue("path_loss_step", final_losses["momentum, StepLR"])
"""),
md(r"""
The lowest loss possible is {glue:text}`path_best_loss:.4f`. The constant
rate ends at {glue:text}`path_loss_constant:.4f`, the step schedule at
{glue:text}`path_loss_step:.4f`: shrinking the step is what lets momentum
settle instead of orbiting the minimum.

### A schedule on top of Adam

Adam already adapts the step of every parameter, but only *relative* to the
others: its learning rate still sets the overall scale, and a schedule on it
works as on SGD. The adaptive part divides by the running size of the
gradients; the schedule decides how large the steps are over time. Here Adam
at a constant rate against Adam with `CosineAnnealingLR` and with `OneCycleLR`
(which, given an Adam optimizer, cycles $\beta_1$ in place of momentum):
"""),
code(r"""
adam_paths = {
    "Adam, constant": lin_path(lambda p: torch.optim.Adam(p, lr=0.3)),
    "Adam, cosine": lin_path(lambda p: torch.optim.Adam(p, lr=0.3),
                             lambda o: L.CosineAnnealingLR(o, T_max=LIN_EPOCHS)),
    "Adam, one-cycle": lin_path(lambda p: torch.optim.Adam(p, lr=0.3),
                                lambda o: L.OneCycleLR(o, max_lr=0.5, total_steps=LIN_EPOCHS * batches),
                                interval="batch"),
}
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
plot_loss_surface(surface, adam_paths, ax=axes[0])
plot_loss_curves({k: p.epoch_losses for k, p in adam_paths.items()}, xlabel="epoch", log_scale=True, ax=axes[1])
fig.tight_layout()
glue("adam_constant", adam_paths["Adam, constant"].epoch_losses[-1])
_ = glue("adam_cosine", adam_paths["Adam, cosine"].epoch_losses[-1])
""", caption="Adam with and without a schedule. At a constant rate Adam's steps keep a fixed size near the minimum and jitter around it; annealing the rate lets it settle.", name="fig-ch7-adam"),
md(r"""
Adam ends at {glue:text}`adam_constant:.4f` with a constant rate and at
{glue:text}`adam_cosine:.4f` with the cosine schedule.

## The classic walk-through: explicit train and test functions

Many courses present the loop written out by hand, with a `train` function for
one epoch, a `test` function for the evaluation, and an `ExponentialLR`
stepped once per epoch, after the optimizer has done its work for that epoch.
Here it is, logging the learning rate each epoch. A `dataset` argument
switches it from the book's images to torchvision's Fashion-MNIST or CIFAR-10.
"""),
code(r"""
from torch.utils.data import DataLoader
from torchvision import datasets
from torchvision.transforms import v2

TORCHVISION = {"fashion-mnist": datasets.FashionMNIST, "cifar10": datasets.CIFAR10}


def get_loaders(dataset="rps", root="data", batch_size=16, download=False, generator=None):
    # Training and test loaders, and the image shape and number of classes.
    if dataset == "rps":
        train_loader, test_loader = data.loaders(batch_size, generator=generator)
        return train_loader, test_loader, tuple(data.train[0][0].shape), len(data.classes)
    if dataset not in TORCHVISION:
        raise ValueError(f"dataset must be 'rps' or one of {sorted(TORCHVISION)}, got {dataset!r}")
    to_tensor = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    try:
        train = TORCHVISION[dataset](root, train=True, download=download, transform=to_tensor)
        test = TORCHVISION[dataset](root, train=False, download=download, transform=to_tensor)
    except (RuntimeError, OSError) as exc:  # missing files, or no network to download them
        raise FileNotFoundError(
            f"{dataset} is not in {root!r} and could not be downloaded "
            f"(download={download}): {exc}. Run once with download=True on a machine with "
            "network access, or use dataset='rps'."
        ) from None
    normalize = lrlib.fit_normalizer(DataLoader(train, batch_size=1000))
    train.transform = test.transform = v2.Compose([to_tensor, normalize])
    shape = tuple(train[0][0].shape)
    return (DataLoader(train, batch_size=batch_size, shuffle=True, generator=generator),
            DataLoader(test, batch_size=batch_size), shape, len(train.classes))


try:
    get_loaders("fashion-mnist", root="no-such-folder")
except FileNotFoundError as exc:
    print("FileNotFoundError:", textwrap.fill(str(exc), 88))
"""),
md(r"""
On this machine Fashion-MNIST is not on disk, so the function says so and how
to fix it, rather than failing deep inside torchvision. With the files present
(or `download=True` and a network) the same loop below trains on it unchanged.
"""),
code(r"""
def train(model, loader, optimizer, loss_fn):
    # One epoch of mini-batch training; returns the mean loss per sample.
    model.train()
    total, count = 0.0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        loss = loss_fn(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(labels)
        count += len(labels)
    return total / count


@torch.no_grad()
def test(model, loader, loss_fn):
    # Mean loss and accuracy over a loader, with dropout off.
    model.eval()
    total, correct, count = 0.0, 0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        outputs = model(images)
        total += loss_fn(outputs, labels).item() * len(labels)
        correct += (outputs.argmax(dim=1) == labels).sum().item()
        count += len(labels)
    return total / count, correct / count


def walk_through(dataset="rps", epochs=5, lr=0.03, gamma=0.7, **loader_args):
    generator = seed_everything(SEED)
    train_loader, test_loader, (channels, size, _), classes = get_loaders(
        dataset, generator=generator, **loader_args)
    model = lrlib.TwoBlockCNN(n_filters=5, p=0.3, in_channels=channels, image_size=size,
                              n_classes=classes).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    scheduler = L.ExponentialLR(optimizer, gamma=gamma)
    log = {"lr": [], "train_loss": [], "test_loss": [], "test_accuracy": []}
    for epoch in range(epochs):
        log["lr"].append(scheduler.get_last_lr()[0])  # the rate this epoch trains with
        log["train_loss"].append(train(model, train_loader, optimizer, loss_fn))
        test_loss, test_accuracy = test(model, test_loader, loss_fn)
        log["test_loss"].append(test_loss)
        log["test_accuracy"].append(test_accuracy)
        scheduler.step()  # after the epoch's optimizer steps: the rate for the next epoch
        print(f"epoch {epoch + 1}: lr {log['lr'][-1]:.5f}, train loss {log['train_loss'][-1]:.3f}, "
              f"test loss {test_loss:.3f}, test accuracy {test_accuracy:.1%}")
    return log


log = walk_through("rps")
"""),
code(r"""
fig, (ax_lr, ax_loss) = plt.subplots(1, 2, figsize=(10, 3.4))
epochs = np.arange(1, len(log["lr"]) + 1)
ax_lr.plot(epochs, log["lr"], marker="o")
ax_lr.set(xlabel="epoch", ylabel="learning rate", yscale="log", title="ExponentialLR, gamma = 0.7")
ax_loss.plot(epochs, log["train_loss"], marker=".", label="train")
ax_loss.plot(epochs, log["test_loss"], marker=".", label="test")
ax_loss.set(xlabel="epoch", ylabel="loss")
ax_loss.legend()
fig.tight_layout()
np.testing.assert_allclose(log["lr"], 0.03 * 0.7 ** np.arange(len(log["lr"])))
_ = glue("walk_acc", log["test_accuracy"][-1])
""", caption="The logged learning rate falls by the same factor every epoch, a straight line on a log scale, and the losses follow.", name="fig-ch7-walkthrough"),
md(r"""
The hand-written loop reaches {glue:text}`walk_acc:.1%` test accuracy in five
epochs. Its learning rate, asserted above, is exactly $0.03 \cdot 0.7^{t}$ in
epoch $t+1$: the first epoch trains at the initial rate because the scheduler
steps *after* it.

## Which policy trains best? A comparison

Finally, the same CNN, the same initialization, the same batches and the same
number of epochs, under seven learning-rate policies. The peak rates come from
the range test of chapters 3 and 8 (around 0.02 for this model with Nesterov
SGD); each policy gets the same budget of six epochs.
"""),
code(r"""
POLICY_EPOCHS, LR, THRESHOLD = 6, 0.02, 0.85


def make_policy(name, optimizer, batches):
    # The scheduler of each policy, and the monitor it needs (None: the trainer's default).
    total = POLICY_EPOCHS * batches
    if name == "constant":
        return None
    if name == "step":
        return L.StepLR(optimizer, step_size=2, gamma=0.5)
    if name == "exponential":
        return L.ExponentialLR(optimizer, gamma=0.7)
    if name == "cosine":
        return L.CosineAnnealingLR(optimizer, T_max=POLICY_EPOCHS)
    if name == "one-cycle":
        return L.OneCycleLR(optimizer, max_lr=2 * LR, total_steps=total)
    if name == "cyclic":
        return L.CyclicLR(optimizer, base_lr=LR / 10, max_lr=LR, **cycle_from_loader(batches, 2).kwargs())
    if name == "plateau":
        return L.ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=0)
    raise ValueError(f"unknown policy {name!r}")


POLICIES = ["constant", "step", "exponential", "cosine", "one-cycle", "cyclic", "plateau"]
runs = {}
for name in POLICIES:
    model, train_loader, val_loader = fresh_run()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9, nesterov=True)
    scheduler = make_policy(name, optimizer, len(train_loader))
    trainer = Trainer(model, loss_fn, optimizer, train_loader, val_loader, scheduler=scheduler,
                      monitor="val_accuracy", track_accuracy=True, device=device, progress=False)
    runs[name] = trainer.fit(POLICY_EPOCHS)
"""),
code(r"""
def epochs_to_reach(accuracies, threshold):
    # The first epoch (1-based) at which the accuracy reaches the threshold, or None.
    return next((epoch for epoch, acc in enumerate(accuracies, 1) if acc >= threshold), None)


rows = ["| policy | final accuracy | best accuracy | epochs to reach {:.0%} |".format(THRESHOLD),
        "|---|---:|---:|---:|"]
for name, history in runs.items():
    reached = epochs_to_reach(history["val_accuracy"], THRESHOLD)
    rows.append(f"| {name} | {history['val_accuracy'][-1]:.1%} | {max(history['val_accuracy']):.1%} "
                f"| {reached if reached else 'not reached'} |")
best_policy = max(runs, key=lambda n: runs[n]["val_accuracy"][-1])
glue("best_policy", best_policy)
glue("best_policy_acc", runs[best_policy]["val_accuracy"][-1])
glue("constant_acc", runs["constant"]["val_accuracy"][-1])
glue("n_val", len(data.val))
glue("one_image", 1 / len(data.val))
Markdown("\n".join(rows))
"""),
code(r"""
fig, (ax_lr, ax_acc) = plt.subplots(1, 2, figsize=(12, 4))
for name, history in runs.items():
    steps = np.arange(len(history["batch_lr"])) / (len(history["batch_lr"]) / POLICY_EPOCHS)
    ax_lr.plot(steps, [lrs[0] for lrs in history["batch_lr"]], label=name)
    ax_acc.plot(np.arange(1, POLICY_EPOCHS + 1), history["val_accuracy"], marker=".", label=name)
ax_lr.set(xlabel="epoch", ylabel="learning rate", title="learning rate per mini-batch")
ax_acc.axhline(THRESHOLD, color="0.7", linestyle=":")
ax_acc.set(xlabel="epoch", ylabel="validation accuracy", title="validation accuracy")
ax_acc.legend(fontsize="small")
fig.tight_layout()
""", caption="Seven policies, one model, six epochs. Left: the learning rate each policy sets, mini-batch by mini-batch. Right: the validation accuracy after each epoch; the dotted line is the threshold of the table.", name="fig-ch7-policies"),
md(r"""
In this run the best final accuracy, {glue:text}`best_policy_acc:.1%`, came
from the **{glue:text}`best_policy`** policy; the constant rate ended at
{glue:text}`constant_acc:.1%`. Read the table with care: one seed, six epochs
and {glue:text}`n_val` validation images make differences of a point or two
noise (one image is {glue:text}`one_image:.2%`). What to look for is the
shape: a policy that ends at a small learning rate (step, exponential, cosine,
one-cycle, and cyclic at the end of a whole cycle) tends to finish close to its
best epoch, while a constant rate keeps bouncing; and a schedule that starts
large without a warm-up needs a range test to be safe. Try other seeds with
`fresh_run(seed=...)` before drawing conclusions.
"""),
]
write("/work/main/book/07_schedulers_in_training.ipynb", cells)
