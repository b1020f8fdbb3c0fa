"""Figures saved as palette PNGs: the pictures the website embeds.

A plot has few distinct colours, so a PNG of at most 256 palette colours looks
the same as matplotlib's true-colour PNG at a quarter to a third of the bytes.
Both :mod:`lrlib.book.explorer` (its precomputed pictures) and
:mod:`lrlib.book.responsive_figures` (its two layouts) save figures this way.

Example:
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(4, 2))
    >>> _ = fig.subplots().plot([0, 1, 4, 9])
    >>> png = palette_png(fig, dpi=50, colours=64)
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure
from PIL import Image

from lrlib._validation import check_int, check_number

__all__ = ["palette_png"]


def palette_png(
    fig: Figure,
    *,
    dpi: float,
    colours: int,
    method: Image.Quantize = Image.Quantize.MEDIANCUT,
    tight_pad: float | None = None,
) -> bytes:
    """``fig`` as a PNG of at most ``colours`` palette colours that says its dpi.

    Args:
        fig: the figure to save (left as it is).
        dpi: dots per inch of the picture.
        colours: the most colours in the palette, 2 to 256.
        method: Pillow's quantizer (median cut suits line plots; fast octree is
            quicker on pictures with many shades).
        tight_pad: ``None`` saves the whole figure; a margin in inches crops it
            to its drawn content plus that margin (``bbox_inches="tight"``).

    Returns:
        The PNG's bytes.

    Raises:
        ValueError: ``dpi`` is not positive, or ``colours`` is not in 2..256.

    Example:
        >>> from PIL import Image
        >>> fig = Figure(figsize=(4, 2))
        >>> with Image.open(io.BytesIO(palette_png(fig, dpi=50, colours=16))) as im:
        ...     im.mode, im.size, round(im.info["dpi"][0])
        ('P', (200, 100), 50)
    """
    dpi = check_number("dpi", dpi, low=0, include_low=False)
    colours = check_int("colours", colours, low=2, high=256)
    buffer = io.BytesIO()
    if tight_pad is None:
        fig.savefig(buffer, format="png", dpi=dpi)
    else:
        fig.savefig(
            buffer, format="png", dpi=dpi, bbox_inches="tight", pad_inches=tight_pad
        )
    with Image.open(buffer) as image:
        palette = image.convert("RGB").quantize(colors=colours, method=method)
    small = io.BytesIO()
    palette.save(small, format="png", optimize=True, dpi=(dpi, dpi))
    return small.getvalue()
