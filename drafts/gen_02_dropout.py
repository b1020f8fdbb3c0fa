import sys; sys.path.insert(0, "/tmp/gen")
from nbgen import md, code, write

cells = [
md("""
# Dropout, and a training loop worth reusing

This chapter builds the small convolutional network the rest of the book trains,
looks closely at dropout, the one layer in it that behaves differently in
training and in evaluation, and trains the network twice, with and without
dropout, to see what dropout buys.
"""),
code("""
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from ipywidgets import FloatSlider
from torch import nn

from lrlib import TwoBlockCNN, count_parameters, get_device, glue, seed_everything
from lrlib.explorer import FigureExplorer
from lrlib.pipeline import load_rps_data
from lrlib.stats import denormalize, to_displayable
from lrlib.training import Trainer, accuracy

device = get_device()
data = load_rps_data()
print(data.folders.describe())
print(f"{len(data.train)} training and {len(data.val)} validation images of shape {tuple(data.train[0][0].shape)}")
"""),
md("""
`load_rps_data` is chapter 1 in one call: it reads both folders, resizes every
image to 28 by 28 once and keeps the tensors, learns the per-channel mean and
standard deviation on the training split, and standardizes both splits with
them.

## A CNN in two blocks

Each block is a 3x3 convolution, a ReLU and a 2x2 max-pooling. A convolution
without padding trims one pixel on every side (28 becomes 26); pooling halves
the size, rounding down (26 becomes 13, 11 becomes 5). Two blocks turn a
3@28x28 image into n feature maps of 5x5. They are flattened into n x 25
numbers, which a hidden linear layer of 50 units and an output layer of 3 units
turn into one *logit* per class. Dropout, with probability p, comes before each
linear layer.
"""),
md("""
```{literalinclude} ../lrlib/models.py
:pyobject: TwoBlockCNN.__init__
:dedent: 4
```
"""),
code("""
seed_everything(13)
model = TwoBlockCNN(n_filters=5, p=0.3)
shape = (1, 3, 28, 28)
print(f"{'input':>10}: {shape}")
x = torch.zeros(shape)
for name, layer in model.featurizer.named_children():
    x = layer(x)
    print(f"{name:>10}: {tuple(x.shape)}")
print(f"{'logits':>10}: {tuple(model(torch.zeros(shape)).shape)}")
"""),
code("""
n = 5
by_formula = (3 * n * 9 + n) + (n * n * 9 + n) + (n * 25 * 50 + 50) + (50 * 3 + 3)
n_parameters = count_parameters(model)
assert n_parameters == by_formula
glue("n_parameters", n_parameters)
for name, p in model.named_parameters():
    print(f"{name:>24}: {tuple(p.shape)}")
print(f"total: {n_parameters:,} parameters")
"""),
md("""
With 5 filters the network has {glue:text}`n_parameters:,` parameters: the
first convolution has 5 filters of 3@3x3 plus 5 biases, the second 5 filters
of 5@3x3 plus 5 biases, and most of them, 125 x 50 + 50, sit in the hidden
linear layer.

### Modules or functions?

Every step above is a module with a name. PyTorch also offers each operation as
a plain function, `F.relu(x)` or `F.max_pool2d(x, 2)`, and many models call
those inside `forward`. The numbers are the same:
"""),
code("""
x = torch.randn(1, 5, 26, 26)
assert torch.equal(nn.ReLU()(x), F.relu(x))
assert torch.equal(nn.MaxPool2d(2)(x), F.max_pool2d(x, kernel_size=2))
print("modules and functions compute the same")
"""),
md("""
What a function call loses is everything that needs an object: it does not
appear when the model is printed or iterated over, it cannot be replaced by
name, and it cannot be *hooked*. A forward hook is a function PyTorch calls with
a module's input and output every time the module runs; it is how later chapters
watch activations, gradients and parameters without changing the model's code.
"""),
code("""
captured = {}
hook = model.featurizer.relu1.register_forward_hook(
    lambda module, inputs, output: captured.update(relu1=output.detach())
)
model.eval()
with torch.no_grad():
    model(data.train[0][0].unsqueeze(0))
hook.remove()
active = (captured["relu1"] > 0).float().mean().item()
glue("relu1_active", active)
print(f"relu1 output {tuple(captured['relu1'].shape)}, {active:.1%} of its values are positive")
"""),
md("""
A model that called `F.relu` in its `forward` would offer no `relu1` to hook;
the activation would be out of reach without editing the model.

## Dropout, on a tiny tensor

During training, a dropout layer sets each input to zero with probability p,
independently, and multiplies the survivors by 1/(1 - p). In evaluation mode it
does nothing at all.
"""),
code("""
seed_everything(13)
dropout = nn.Dropout(p=0.5)
x = torch.arange(1.0, 11.0)
dropout.train()
print("train:", dropout(x))
dropout.eval()
print("eval: ", dropout(x))
"""),
md("""
About half the values are gone, and the others doubled: with p = 0.5, the
scale is 1/(1 - 0.5) = 2. Why 1/(1 - p) and not 1/p? Each value survives with
probability 1 - p, so its *expected* output is (1 - p) x value / (1 - p) = value:
scaling by 1/(1 - p) keeps the expected input of the next layer what it is in
evaluation mode, when nothing is dropped. Scaling by 1/p would be right only for
p = 0.5, where the two coincide, and wrong for every other p. With the
p = 0.3 of our model the scale is:
"""),
code("""
dropout = nn.Dropout(p=0.3).train()
ones = torch.ones(1000)
out = dropout(ones)
survivors = out[out > 0]
assert torch.allclose(survivors, torch.full_like(survivors, 1 / (1 - 0.3)))
glue("scale_p03", survivors[0].item())
glue("kept_p03", (out > 0).float().mean().item())
print(f"survivors are {survivors[0].item():.4f}; {(out > 0).float().mean().item():.1%} of the inputs survived")
"""),
md("""
Every survivor is {glue:text}`scale_p03:.4f` = 1/0.7, and
{glue:text}`kept_p03:.1%` of the inputs survived, close to the 70 % expected.

### What it does to a layer's output

A linear unit adds up its weighted inputs. With dropout in front, each forward
pass adds up a different random subset of them, so the sum becomes a random
variable: its expected value is the sum without dropout, and it spreads around
that value more the larger p is. Here are 1,000 forward passes of one linear
unit with 50 inputs, for four values of p:
"""),
code("""
seed_everything(42)
inputs = torch.rand(50)
weights = torch.randn(50) / 50 ** 0.5
clean_sum = (weights * inputs).sum().item()
glue("clean_sum", clean_sum)


def dropout_sums(p: float, draws: int = 1000) -> torch.Tensor:
    dropped = F.dropout(inputs.expand(draws, -1), p=p, training=True)
    return dropped @ weights


ps = (0.1, 0.3, 0.5, 0.9)
sums = {p: dropout_sums(p) for p in ps}
for p, s in sums.items():
    glue(f"sum_std_{int(p * 10)}", s.std().item())
    print(f"p = {p}: mean {s.mean().item():+.3f}, standard deviation {s.std().item():.3f}")
print(f"without dropout: {clean_sum:+.3f}")
"""),
code("""
fig, axes = plt.subplots(1, 4, figsize=(12, 2.8), sharey=True)
bins = np.linspace(min(s.min().item() for s in sums.values()), max(s.max().item() for s in sums.values()), 60)
for ax, (p, s) in zip(axes, sums.items()):
    ax.hist(s.numpy(), bins=bins, color="tab:blue", alpha=0.8)
    ax.axvline(clean_sum, color="black", linestyle="--", linewidth=1)
    ax.set(title=f"p = {p}", xlabel="output of the unit")
axes[0].set_ylabel("draws (of 1,000)")
fig.tight_layout()
""", caption="The output of one linear unit over 1,000 dropout draws. The dashed line is the output without dropout: every distribution is centred on it, and its spread grows with p.", name="fig-dropout-sums"),
md("""
Each distribution is centred on the output without dropout,
{glue:text}`clean_sum:.3f`, and the standard deviation grows with p: from
{glue:text}`sum_std_1:.3f` at p = 0.1 through {glue:text}`sum_std_3:.3f` and
{glue:text}`sum_std_5:.3f` to {glue:text}`sum_std_9:.3f` at p = 0.9. That
noise is the point: the layers after a dropout layer cannot rely on any single
input being there, so they learn to use many.

Move the slider to see the distribution for any p (in Jupyter or Colab; on this
page the explorer shows its first picture, and the figure above stands in for it):
"""),
code("""
def draw_dropout_sums(ax, p: float) -> None:
    s = dropout_sums(p)
    ax.hist(s.numpy(), bins=bins, color="tab:blue", alpha=0.8)
    ax.axvline(clean_sum, color="black", linestyle="--", linewidth=1)
    ax.set(title=f"p = {p:.2f}: standard deviation {s.std().item():.3f}",
           xlabel="output of the unit", ylabel="draws (of 1,000)")


seed_everything(7)
FigureExplorer(draw_dropout_sums, {"p": FloatSlider(value=0.5, min=0.0, max=0.95, step=0.05, description="p")})
"""),
md("""
### Dropping channels: `Dropout2d`

In an image, or in the feature maps of a convolution, neighbouring values are
strongly correlated. Dropping single pixels barely hides anything, since the
pixels around a hole tell what was there. `nn.Dropout2d` drops whole channels
instead: each feature map of each image is either kept entirely (and scaled by
1/(1 - p)) or set to zero entirely. Here both are applied, with p = 0.5, to one
of our images, whose three channels play the role of feature maps:
"""),
code("""
seed_everything(3)
image, label = data.train[0]
batch = image.unsqueeze(0).repeat(4, 1, 1, 1)  # the same image four times
pixels = F.dropout(batch, p=0.5, training=True)
channels = F.dropout2d(batch, p=0.5, training=True)
kept = (channels != 0).flatten(2).any(dim=2)  # (image, channel): was it kept?
print("channels kept by Dropout2d (rows: copies, columns: R, G, B):")
print(kept.int())
"""),
code("""
def shown(t: torch.Tensor) -> np.ndarray:
    # Dropout's survivors are scaled by 2: undo that before undoing the standardization.
    return to_displayable(denormalize(t * 0.5, data.normalizer.mean, data.normalizer.std))


fig, axes = plt.subplots(2, 5, figsize=(10, 4.4))
for row, (title, dropped) in enumerate((("Dropout", pixels), ("Dropout2d", channels))):
    axes[row, 0].imshow(to_displayable(denormalize(image, data.normalizer.mean, data.normalizer.std)))
    axes[row, 0].set_title("original")
    for k in range(4):
        axes[row, k + 1].imshow(shown(dropped[k]))
        axes[row, k + 1].set_title(f"{title} #{k + 1}")
for ax in axes.flat:
    ax.set_axis_off()
fig.tight_layout()
""", caption="Top: element-wise dropout leaves holes that the neighbouring pixels fill in for the eye, and for a convolution. Bottom: Dropout2d removes whole channels, so colours change, and what a channel carried is gone everywhere at once.", name="fig-dropout2d"),
md("""
## Loss, optimizer, and the training loop

The network outputs logits, unnormalized scores, and the loss is
`nn.CrossEntropyLoss`, which applies log-softmax and the negative log-likelihood
in one numerically stable step. The model must not apply a softmax itself: the
loss would then softmax twice.

The optimizer is Adam with a learning rate of 3e-4. Adam divides each gradient
by a running estimate of its own magnitude (chapter 4 shows how), so every
parameter moves by roughly the learning rate per step, whatever the scale of its
gradient. The learning rate is then a step size in the units of the weights:
3e-4 changes a weight of typical size 0.1 by a fraction of a percent per step,
small enough to be stable and large enough to make progress over the 1,580
steps of 10 epochs. Chapter 3 shows how to choose it instead of taking it on
trust.

lrlib's `Trainer` runs the loop: for every mini-batch, forward, loss, zero the
gradients, backward, optimizer step; after every epoch, the validation loss
under `torch.no_grad()`. It records the losses and the learning rate of every
parameter group. Its core is short:
"""),
md("""
```{literalinclude} ../lrlib/training.py
:pyobject: Trainer.train_one_epoch
:dedent: 4
```
"""),
code("""
def train(p: float, epochs: int = 10, seed: int = 13) -> tuple[nn.Module, Trainer]:
    generator = seed_everything(seed)
    model = TwoBlockCNN(n_filters=5, p=p)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)
    train_loader, val_loader = data.loaders(batch_size=16, generator=generator)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, train_loader, val_loader,
                      track_accuracy=True, device=device)
    trainer.fit(epochs)
    return model, trainer


model_plain, trainer_plain = train(p=0.0)
"""),
code("""
model_dropout, trainer_dropout = train(p=0.3)
"""),
code("""
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
epochs = np.arange(1, 11)
for ax, (title, trainer) in zip(axes, (("no dropout", trainer_plain), ("dropout p = 0.3", trainer_dropout))):
    ax.plot(epochs, trainer.history["train_loss"], marker="o", label="training")
    ax.plot(epochs, trainer.history["val_loss"], marker="o", label="validation")
    ax.set(title=title, xlabel="epoch")
axes[0].set_ylabel("cross-entropy loss")
axes[0].legend()
fig.tight_layout()
""", caption="Losses of the two models. Without dropout the training loss keeps falling while the validation loss stalls and rises again; with dropout the training loss stays higher and the validation loss lower.", name="fig-dropout-losses"),
md("""
Note that the training loss of an epoch is averaged while the weights change
and, with dropout, with a random part of the network switched off. To compare
the two models fairly, measure both splits again in evaluation mode, after
training:
"""),
code("""
clean_train_loader, val_loader = data.loaders(batch_size=256)
results = {}
for name, model in (("no dropout", model_plain), ("dropout", model_dropout)):
    train_acc = accuracy(model, clean_train_loader)
    val_acc = accuracy(model, val_loader)
    results[name] = (train_acc, val_acc)
    print(f"{name:>10}: training {train_acc.overall:.1%}, validation {val_acc.overall:.1%}, "
          f"gap {train_acc.overall - val_acc.overall:.1%}")

(plain_train, plain_val), (drop_train, drop_val) = results["no dropout"], results["dropout"]
glue("plain_train_acc", plain_train.overall)
glue("plain_val_acc", plain_val.overall)
glue("drop_train_acc", drop_train.overall)
glue("drop_val_acc", drop_val.overall)
glue("plain_gap", plain_train.overall - plain_val.overall)
_ = glue("drop_gap", drop_train.overall - drop_val.overall)
"""),
code("""
print(f"{'class':>10} {'no dropout':>12} {'dropout':>10}")
for i, name in enumerate(data.classes):
    print(f"{name:>10} {plain_val.per_class[i].item():>12.1%} {drop_val.per_class[i].item():>10.1%}")
"""),
md("""
Without dropout the network fits the training images almost perfectly,
{glue:text}`plain_train_acc:.1%`, yet gets {glue:text}`plain_val_acc:.1%` of the
validation images right: a gap of {glue:text}`plain_gap:.1%`, the signature of
overfitting, here to the particular hands of the training set. With dropout,
training accuracy is {glue:text}`drop_train_acc:.1%` and validation accuracy
{glue:text}`drop_val_acc:.1%`: the gap narrows to {glue:text}`drop_gap:.1%`.
This is the regularizing effect: dropout makes the training task harder, so the
training loss stays higher, and what the network learns carries over better to
images it has not seen.

The claims of this section are checked, not just stated:
"""),
code("""
assert plain_train.overall >= 0.97, "without dropout the network fits the training set"
assert drop_val.overall > plain_val.overall, "dropout improves validation accuracy"
assert drop_train.overall - drop_val.overall < plain_train.overall - plain_val.overall, "the gap narrows"
assert 0.6 <= plain_val.overall <= 0.97 and 0.6 <= drop_val.overall <= 0.97, "a real, unsolved problem"
assert trainer_dropout.history["train_loss"][-1] > trainer_plain.history["train_loss"][-1]
print("all claims hold")
"""),
md("""
## What the filters learned

The first convolution's filters have three channels, one per colour; shown as
small colour images they reveal which colour patterns each filter responds to.
The second convolution's filters have five channels, one per feature map of the
first block, shown as a grid: one row per filter, one column per input channel.
"""),
code("""
def show_filters(weight: torch.Tensor, title: str) -> plt.Figure:
    weight = weight.detach().cpu()
    n_out, n_in = weight.shape[:2]
    fig, axes = plt.subplots(n_out, n_in, figsize=(1.1 * n_in, 1.1 * n_out + 0.4), squeeze=False)
    limit = weight.abs().max().item()
    for i in range(n_out):
        for j in range(n_in):
            axes[i, j].imshow(weight[i, j], cmap="RdBu_r", vmin=-limit, vmax=limit)
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
        axes[i, 0].set_ylabel(f"filter {i}", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


fig = show_filters(model_dropout.featurizer.conv1.weight, "conv1: 5 filters x 3 colour channels (R, G, B)")
""", caption="The first layer's filters, one row per filter and one column per colour channel; red is positive, blue negative. Filters that weigh the channels alike react to brightness edges; others contrast colours, such as skin against the white background.", name="fig-filters-conv1"),
code("""
fig = show_filters(model_dropout.featurizer.conv2.weight, "conv2: 5 filters x 5 input channels")
""", caption="The second layer's filters, one row per filter and one column per feature map of the first block. They combine the first layer's responses, so their patterns are harder to read than the first layer's.", name="fig-filters-conv2"),
md("""
## What we have

- a two-block CNN with {glue:text}`n_parameters:,` parameters, built from named
  modules so that it can be inspected and hooked;
- dropout understood: zeros with probability p, survivors scaled by 1/(1 - p),
  identity in evaluation mode, noise that grows with p; `Dropout2d` for feature
  maps;
- a training loop, `lrlib.training.Trainer`, which the next chapters reuse;
- the regularizing effect, measured: a narrower gap between training and
  validation accuracy.

The learning rate was taken on trust. The next chapter finds one.
"""),
]
write("/work/main/book/02_dropout.ipynb", cells)
