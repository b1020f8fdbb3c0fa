import sys; sys.path.insert(0, "/tmp/gen")
from nbgen import md, code, write

cells = [
md("""
# Data and standardization

A network sees numbers, not pictures. This chapter takes a folder of PNG files
to the tensors a convolutional network is trained on, and gets three things
right that are easy to get wrong: which standard deviation to standardize with,
which images to compute it from, and how to look at an image after it has been
standardized. It ends with what a convolution does when its input has three
colour channels.
"""),
code("""
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

from lrlib import (Preloaded, batch_stats, denormalize, glue, loader_stats,
                   seed_everything, to_displayable)
from lrlib.figures_data import draw_conv_volumes, plot_channel_histograms, plot_image_grid
from lrlib.rps import get_rps

generator = seed_everything(13)
"""),
md("""
## The Rock-Paper-Scissors images

The dataset, made by Laurence Moroney and shared under the CC BY 2.0 license,
holds computer-generated hands making the three gestures of the game, on a
white background: 2,520 training images and 372 test images, 300 by 300 pixels,
stored as RGBA PNG files. It comes as two archives, each a folder with one
subfolder per class (`rps/` and `rps-test-set/`).

`lrlib.rps.get_rps` finds the folders. It uses the real images when they are on
disk or can be downloaded (and verifies the archives' checksums). Without a
network, as on the machines that test this book, it falls back to a stand-in:
hands rendered procedurally, with the same layout, file format, sizes and
counts, and different hands in the test split than in the training split. It
always says which one it used, and why:
"""),
code("""
rps = get_rps()
print(rps.describe())
"""),
code("""
def count_images(root: Path) -> dict[str, int]:
    return {d.name: len(list(d.glob("*.png"))) for d in sorted(root.iterdir()) if d.is_dir()}


train_counts, test_counts = count_images(rps.train), count_images(rps.test)
print("training:", train_counts, "total", sum(train_counts.values()))
print("test:    ", test_counts, "total", sum(test_counts.values()))
glue("n_train", sum(train_counts.values()))
_ = glue("n_test", sum(test_counts.values()))
"""),
code("""
first_file = sorted((rps.train / "rock").glob("*.png"))[0]
with Image.open(first_file) as raw:
    print(f"{first_file.name}: {raw.size[0]}x{raw.size[1]} pixels, mode {raw.mode}")
    raw_pixels = np.asarray(raw)
print("pixel array:", raw_pixels.shape, raw_pixels.dtype,
      "| alpha channel min/max:", raw_pixels[..., 3].min(), raw_pixels[..., 3].max())
"""),
md("""
The folders hold {glue:text}`n_train` training and {glue:text}`n_test` test
images, balanced across the three classes. Every file has four channels: red,
green, blue and alpha (opacity). Here the alpha channel is 255 everywhere, so
nothing is lost when we drop it and keep three colour channels.
"""),
code("""
samples, titles = [], []
for split, root in (("train", rps.train), ("test", rps.test)):
    for label in ("paper", "rock", "scissors"):
        for path in sorted((root / label).glob("*.png"))[::97][:2]:
            with Image.open(path) as image:
                samples.append(np.asarray(image.convert("RGB")))
            titles.append(f"{split}: {label}")
fig = plot_image_grid(samples, titles, ncols=6, size=1.7)
""", caption="Two images of each class from each split. The test split shows other hands than the training split: a model must generalize across hands, not memorize them.", name="fig-rps-samples"),
md("""
## `ImageFolder`: one class per subfolder

torchvision's `ImageFolder` turns such a folder into a dataset. Its `root` is
the folder; every subfolder is a class, sorted by name, and every file in it an
example of that class.
"""),
code("""
plain = ImageFolder(root=rps.train)
print("classes:", plain.classes)
print("class_to_idx:", plain.class_to_idx)
print("images:", len(plain))
image, label = plain[0]
print(f"first item: a PIL image of mode {image.mode} and size {image.size}, and the label {label}")
"""),
md("""
The file was RGBA, the item is RGB. The conversion happens in the dataset's
`loader`, the function that opens a file; the default one opens it with PIL and
calls `.convert("RGB")`, which drops the alpha channel. Four more arguments
shape what a dataset returns:

- `transform` is applied to every image (resizing, conversion to a tensor,
  standardization: the rest of this chapter);
- `target_transform` is applied to every label;
- `loader` replaces the function that opens a file;
- `is_valid_file` decides which files count at all.

Here they are at work: a dataset of only the first hand's images, whose labels
are class names, opened by a loader that composites the image onto white
(the careful way to drop transparency, in case a file ever has some).
"""),
code("""
def on_white(path: str) -> Image.Image:
    with Image.open(path) as image:
        rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


first_hand = ImageFolder(
    root=rps.train,
    loader=on_white,
    is_valid_file=lambda path: Path(path).stem.split("-")[0][-2:] == "01",
    target_transform=lambda index: plain.classes[index],
)
image, label = first_hand[0]
print(f"{len(first_hand)} images of hand 01; first item: mode {image.mode}, label {label!r}")
assert np.array_equal(np.asarray(image), np.asarray(plain[0][0])), "alpha is 255: both loaders agree"
"""),
md("""
## A temporary dataset, only to learn the statistics

A 300 by 300 image has 90,000 pixels per channel, more than the small network of
the next chapter needs to tell a fist from an open hand. We shrink every image to
28 by 28, turn it into a tensor and scale its values from 0-255 integers to 0-1
floats. That is all this first dataset does: it exists to compute the mean and
standard deviation of each channel, which standardization needs.
"""),
code("""
temporary_transform = v2.Compose([
    v2.Resize(28),
    v2.ToImage(),
    v2.ToDtype(torch.float32, scale=True),
])
temporary_dataset = ImageFolder(root=rps.train, transform=temporary_transform)
tensor, label = temporary_dataset[0]
print(tensor.shape, tensor.dtype, f"values in [{tensor.min():.3f}, {tensor.max():.3f}]")
"""),
code("""
fig, (ax_big, ax_small) = plt.subplots(1, 2, figsize=(6, 3))
ax_big.imshow(np.asarray(plain[0][0]))
ax_big.set_title("300 x 300")
ax_small.imshow(to_displayable(tensor), interpolation="nearest")
ax_small.set_title("28 x 28")
for ax in (ax_big, ax_small):
    ax.set_axis_off()
""", caption="The same image before and after `Resize(28)`. The fingers survive the shrinking; the shading and the texture of the skin mostly do not.", name="fig-resize"),
md("""
Decoding and resizing 2,520 PNG files takes seconds, and the chapters that
train do it every epoch unless the results are kept. `lrlib.Preloaded` runs the
dataset's transform once per image and keeps the tensors, so later passes over
the data cost almost nothing. The statistics below come from a `DataLoader`
exactly as they would without it.
"""),
code("""
temporary_cache = Preloaded(temporary_dataset, num_workers=2)
temporary_loader = DataLoader(temporary_cache, batch_size=16)
print(temporary_cache.images.shape)
"""),
md("""
## Statistics per channel

A mini-batch of images is a tensor of shape (N, C, H, W): N images, C channels,
H by W pixels. We draw one shuffled batch of 16, so that it mixes hands and
classes. The mean of a channel is the mean over every pixel of every image in
it, that is over dimensions 0, 2 and 3:
"""),
code("""
shuffled = DataLoader(temporary_cache, batch_size=16, shuffle=True, generator=generator)
images, labels = next(iter(shuffled))
print("batch:", tuple(images.shape), "labels:", labels.tolist())
channel_means = images.mean(dim=(0, 2, 3))
pooled_stds = images.std(dim=(0, 2, 3), correction=0)
print("mean per channel:          ", channel_means)
print("pooled std per channel:    ", pooled_stds)
"""),
md("""
For the standard deviation there is a tempting shortcut: compute it for each
image (over dimensions 2 and 3), then average over the images. It gives a
different, smaller number:
"""),
code("""
per_image_stds = images.std(dim=(2, 3), correction=0)  # shape (N, C)
average_of_stds = per_image_stds.mean(dim=0)
print("average of per-image stds: ", average_of_stds)
print("pooled std:                ", pooled_stds)
glue("batch_avg_std_red", average_of_stds[0].item())
_ = glue("batch_pooled_std_red", pooled_stds[0].item())
"""),
md("""
In the red channel of this batch the average of the per-image standard
deviations is {glue:text}`batch_avg_std_red:.4f`, while the standard deviation
of all the batch's pixels taken together is {glue:text}`batch_pooled_std_red:.4f`.
The gap is not rounding. The variance of all pixels is the average variance
*within* images plus the variance *between* the images' means: a dark image and
a bright image can each be uniform, yet together they spread widely. Averaging
per-image values throws the second part away. Standardizing should leave the
pixels the model sees with mean 0 and standard deviation 1, all of them
together, so the pooled value is the right one.

`lrlib.stats.batch_stats` computes both, in double precision, for one batch:
"""),
code("""
stats = batch_stats(images)
torch.testing.assert_close(stats.mean.float(), channel_means)
torch.testing.assert_close(stats.std.float(), pooled_stds)
torch.testing.assert_close(stats.mean_of_image_stds.float(), average_of_stds)
print("batch_stats agrees with the computation above")
"""),
md("""
Over a whole loader, the statistics of each mini-batch are merged into running
totals. Merging means and variances needs care: the variance of two batches is
not the average of their variances, for the same reason as above. lrlib keeps,
per channel, the pixel count, the mean and the sum of squared deviations, and
merges two summaries with the formula of Chan, Golub and LeVeque:
"""),
md("""
```{literalinclude} ../lrlib/stats.py
:pyobject: ChannelStats.merge
:dedent: 4
```
"""),
code("""
train_stats = loader_stats(temporary_loader)
print("pixels per channel:", train_stats.count)
print("mean:              ", train_stats.mean)
print("pooled std:        ", train_stats.std)
print("mean of image stds:", train_stats.mean_of_image_stds)

# The streamed result equals the statistics of all images stacked in one tensor.
everything = temporary_cache.images.double()
torch.testing.assert_close(train_stats.mean, everything.mean(dim=(0, 2, 3)))
torch.testing.assert_close(train_stats.std, everything.std(dim=(0, 2, 3), correction=0))
for name, values in (("mean", train_stats.mean), ("std", train_stats.std),
                     ("image_std", train_stats.mean_of_image_stds)):
    for channel, value in zip("rgb", values.tolist()):
        glue(f"train_{name}_{channel}", value)
"""),
md("""
Over the {glue:text}`n_train` training images the red channel has mean
{glue:text}`train_mean_r:.4f` and pooled standard deviation
{glue:text}`train_std_r:.4f`; averaging per-image standard deviations would have
given {glue:text}`train_image_std_r:.4f`. The white background dominates: most
pixels are near 1, which is why the means are high.

### Only the training split

These numbers come from the training images alone. Standardization is part of
the model: a value it was fitted on. Fitting it on the validation or test images
as well would let information about them into the model before it is evaluated,
a leak that makes the evaluation optimistic. The test split has its own
statistics, slightly different; we compute them only to see the difference, and
then use the training ones for every split.
"""),
code("""
test_cache = Preloaded(ImageFolder(root=rps.test, transform=temporary_transform), num_workers=2)
test_stats = loader_stats(DataLoader(test_cache, batch_size=64))
print("test mean:", test_stats.mean)
print("test std: ", test_stats.std)
_ = glue("test_mean_r", test_stats.mean[0].item())
"""),
md("""
## Standardizing inside the pipeline

`Normalize(mean, std)` subtracts the mean of each channel and divides by its
standard deviation. It goes at the end of the `Compose`, after the image has
become a float tensor, and the same transform serves the training and the
validation datasets. Only the training loader shuffles: the order of validation
examples changes nothing but the time it takes to find a bug.
"""),
code("""
normalizer = train_stats.normalizer()
print(normalizer)
composer = v2.Compose([
    v2.Resize(28),
    v2.ToImage(),
    v2.ToDtype(torch.float32, scale=True),
    normalizer,
])
train_dataset = ImageFolder(root=rps.train, transform=composer)
val_dataset = ImageFolder(root=rps.test, transform=composer)
train_loader = DataLoader(train_dataset, batch_size=16, shuffle=True, generator=generator)
val_loader = DataLoader(val_dataset, batch_size=16)
"""),
code("""
standardized, labels = next(iter(train_loader))
print("batch mean per channel:", standardized.mean(dim=(0, 2, 3)))
print("batch std per channel: ", standardized.std(dim=(0, 2, 3), correction=0))
"""),
md("""
One mini-batch is not the whole training set, so its means are near 0 and its
standard deviations near 1, not exactly. Over all training images they are 0 and
1 to rounding:
"""),
code("""
all_standardized = normalizer(temporary_cache.images)
# Rounded to 4 decimals: the exact last digits of a float32 sum depend on the machine.
print("mean:", all_standardized.mean(dim=(0, 2, 3)).numpy().round(4) + 0.0)
print("std: ", all_standardized.std(dim=(0, 2, 3), correction=0).numpy().round(4))
"""),
code("""
fig, (ax_before, ax_after) = plt.subplots(1, 2, figsize=(9, 3))
plot_channel_histograms(temporary_cache.images.numpy(), ax=ax_before, title="scaled to [0, 1]")
plot_channel_histograms(all_standardized.numpy(), ax=ax_after, title="standardized")
fig.tight_layout()
""", caption="Pixel values of all training images per channel, before and after standardization (log scale). The shape of each histogram does not change; it is shifted and stretched so that each channel has mean 0 and standard deviation 1. The tall bar is the white background.", name="fig-histograms"),
md("""
## Looking at standardized images

A standardized image has negative values and values above 1. `imshow` expects
floats in [0, 1] and clips everything else (with a warning), so showing the
tensor as it is gives a washed-out picture that is not what the model sees.
Undo the standardization first: multiply by the standard deviation and add the
mean, channel by channel.
"""),
code("""
batch = standardized[:6]
naive = to_displayable(batch.clamp(0, 1))  # what imshow would show
restored = to_displayable(denormalize(batch, normalizer.mean, normalizer.std))
titles = [train_dataset.classes[i] for i in labels[:6]]
fig = plot_image_grid([*naive, *restored], ["as is: " + t for t in titles] + ["undone: " + t for t in titles], ncols=6)
""", caption="Top: standardized tensors shown as they are (clipped to [0, 1]), the background turns black-grey and the hands lose their colour. Bottom: the same tensors after undoing the standardization.", name="fig-denormalize"),
md("""
```{literalinclude} ../lrlib/stats.py
:pyobject: denormalize
```
"""),
md("""
## Convolutions over three channels

A convolution slides a small filter over an image and, at every position,
multiplies the filter with the pixels under it and adds everything up. With a
colour image there are three values under every position, one per channel, so
the filter has three channels too: **a filter has as many channels as its
input**. The products of all three channels are summed into *one* number, so
**one filter gives one output channel**, whatever the number of input channels.
"""),
code("""
fig, (ax_one, ax_two) = plt.subplots(2, 1, figsize=(8, 5.2))
draw_conv_volumes(1, ax=ax_one)
draw_conv_volumes(2, ax=ax_two)
fig.tight_layout()
""", tags=["remove-input"], caption="Top: one 3@3x3 filter over a three-channel image gives one output channel. Bottom: two filters give two output channels; each filter still spans all three input channels.", name="fig-conv-volumes"),
md("""
### A worked example you can check by hand

A tiny 3@4x4 image, with small integers so that the arithmetic stays readable,
and one 3@3x3 filter. The image is a batch of one: shape (1, 3, 4, 4). The
filter is a stack of one: shape (1, 3, 3, 3), (output channels, input channels,
height, width).
"""),
code("""
image = torch.tensor([
    [[1, 2, 0, 1],   # red
     [0, 1, 3, 1],
     [2, 0, 1, 0],
     [1, 1, 0, 2]],
    [[0, 1, 1, 0],   # green
     [2, 0, 0, 1],
     [1, 1, 2, 0],
     [0, 2, 1, 1]],
    [[3, 0, 1, 2],   # blue
     [1, 1, 0, 0],
     [0, 2, 1, 1],
     [1, 0, 2, 0]],
], dtype=torch.float32).unsqueeze(0)

kernel = torch.tensor([
    [[1, 0, 0],      # red: the diagonal
     [0, 1, 0],
     [0, 0, 1]],
    [[0, 0, 0],      # green: the centre
     [0, 2, 0],
     [0, 0, 0]],
    [[0, 1, 0],      # blue: the four neighbours, negated
     [-1, 0, -1],
     [0, 1, 0]],
], dtype=torch.float32).unsqueeze(0)

output = F.conv2d(image, kernel)
print("image", tuple(image.shape), "* filter", tuple(kernel.shape), "-> output", tuple(output.shape))
print(output)
"""),
md("""
Take the top-left output value. The filter covers the top-left 3x3 window of
each channel; multiply element by element and add, channel by channel:
"""),
code("""
window = image[0, :, 0:3, 0:3]
per_channel = (window * kernel[0]).sum(dim=(1, 2))
for name, value in zip(("red", "green", "blue"), per_channel.tolist()):
    print(f"{name:>5}: {value:+.0f}")
print(f"  sum: {per_channel.sum().item():+.0f}   F.conv2d says {output[0, 0, 0, 0].item():+.0f}")
assert per_channel.sum() == output[0, 0, 0, 0]
for name, value in zip(("red", "green", "blue"), per_channel.tolist()):
    glue(f"conv_{name}", int(value))
_ = glue("conv_total", int(per_channel.sum().item()))
"""),
md("""
Red: the diagonal of the red window is 1, 1, 1, so it contributes
{glue:text}`conv_red`. Green: twice the centre pixel, 2 x 0 =
{glue:text}`conv_green`. Blue: the neighbours above and below (0 and 2) minus
those left and right (1 and 0): {glue:text}`conv_blue`. Together:
{glue:text}`conv_total`, the number `F.conv2d` put in the corner. Every other
output value is the same computation with the window moved.

A second filter adds a second output channel. The weights become a stack of
two filters, shape (2, 3, 3, 3), and the output has two channels. That is the
shape of the weights of `nn.Conv2d(in_channels=3, out_channels=2, kernel_size=3)`:
"""),
code("""
second = torch.ones(1, 3, 3, 3)  # adds up the nine pixels of every channel
two_filters = torch.cat([kernel, second])
output_two = F.conv2d(image, two_filters)
print("filters", tuple(two_filters.shape), "-> output", tuple(output_two.shape))
assert torch.equal(output_two[:, :1], output)        # the first channel is unchanged
assert output_two[0, 1, 0, 0] == image[0, :, 0:3, 0:3].sum()
print("nn.Conv2d(3, 2, 3).weight:", tuple(torch.nn.Conv2d(3, 2, 3).weight.shape))
"""),
md("""
## What we have

- folders of images, read by `ImageFolder` with a transform that resizes them to
  28 by 28, makes float tensors in [0, 1] and standardizes them;
- per-channel means and *pooled* standard deviations, computed on the training
  split only and streamed over a loader;
- the means to look at standardized images without being fooled;
- the rule for convolutions: a filter spans all input channels, and each filter
  is one output channel.

The next chapter builds a small network on these tensors and trains it.
"""),
]
write("/work/main/book/01_data.ipynb", cells)
