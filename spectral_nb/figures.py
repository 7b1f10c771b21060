"""Figures several stages draw: strips stacked in a montage (:func:`plot_strip_montage`: chapters
02, 03 and the benchmarks), and a figure as PNG bytes for a widget's ``ipywidgets.Image`` (the crop
panel, the upload handler of chapter 05, the web app)."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def figure_png(fig, dpi: int = 80) -> bytes:
    """A matplotlib figure as PNG bytes, closed afterwards: what a widget panel shows in an
    ``ipywidgets.Image`` (headless runs hung intermittently on ``Output``-widget capture)."""
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


def plot_strip_montage(strips: Sequence[np.ndarray], titles: Sequence[str], ax=None, gap: int = 3,
                       group_titles: bool = False):
    """Strips (each ``(rows, columns, 3) uint8``) stacked top to bottom in one image, a white gap of
    ``gap`` pixel rows between them, each labelled on the left with its title; with ``group_titles``
    a run of equal titles (the strips of one class, say) gets one label in its middle. Narrower
    strips are padded white on the right. Returns the axes (a new figure's unless ``ax`` is given)."""
    import matplotlib.pyplot as plt

    strips = [np.asarray(s) for s in strips]
    titles = [str(t) for t in titles]
    if len(strips) != len(titles):
        raise ValueError(f"plot_strip_montage: {len(strips)} strips but {len(titles)} titles: give one title per strip")
    bad = [i for i, s in enumerate(strips) if s.ndim != 3 or s.shape[2] != 3]
    if bad:
        raise ValueError(f"plot_strip_montage: strip {bad[0]} has shape {strips[bad[0]].shape}; "
                         "each strip must be (rows, columns, 3) RGB")
    if ax is None:
        rows = sum(s.shape[0] for s in strips) + gap * max(len(strips) - 1, 0)
        _, ax = plt.subplots(figsize=(9, 0.022 * rows + 0.7))  # rows drawn about 1.4x as tall as wide
    width = max((s.shape[1] for s in strips), default=1)
    blocks, ticks, labels = [], [], []
    y = 0
    for i, (strip, title) in enumerate(zip(strips, titles)):
        if i:
            blocks.append(np.full((gap, width, 3), 255, np.uint8))
            y += gap
        blocks.append(np.pad(strip.astype(np.uint8), ((0, 0), (0, width - strip.shape[1]), (0, 0)), constant_values=255))
        if group_titles and i and title == titles[i - 1]:
            ticks[-1] = (ticks[-1][0], y + strip.shape[0])  # the run goes on: widen its span
        else:
            ticks.append((y, y + strip.shape[0]))
            labels.append(title)
        y += strip.shape[0]
    ax.imshow(np.concatenate(blocks) if blocks else np.full((1, 1, 3), 255, np.uint8), aspect="auto",
              interpolation="nearest")
    ax.set_yticks([(top + bottom) / 2 - 0.5 for top, bottom in ticks], labels, fontsize=8)
    ax.set_xlabel("column (pixels)")
    ax.figure.tight_layout()
    return ax
