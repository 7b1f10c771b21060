"""The shared strip montage (``figures.plot_strip_montage``) and the per-class pick that feeds it."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from spectral_nb import records  # noqa: E402
from spectral_nb.figures import plot_strip_montage  # noqa: E402


def _strip(value: int, columns: int = 480) -> np.ndarray:
    return np.full((15, columns, 3), value, np.uint8)


def test_montage_stacks_strips_with_white_gaps_in_order():
    ax = plot_strip_montage([_strip(10), _strip(20), _strip(30)], ["a", "b", "c"], gap=3)
    image = ax.get_images()[0].get_array()
    assert image.shape == (3 * 15 + 2 * 3, 480, 3)
    assert (image[0:15] == 10).all() and (image[15:18] == 255).all()
    assert (image[18:33] == 20).all() and (image[33:36] == 255).all() and (image[36:51] == 30).all()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert list(ax.get_yticks()) == [7, 25, 43]  # the middle row of each strip (rows 0-14, 18-32, 36-50)
    plt.close(ax.figure)


def test_montage_groups_a_run_of_equal_titles_only_when_asked():
    strips, titles = [_strip(1), _strip(2), _strip(3)], ["LED", "LED", "mercury"]
    grouped = plot_strip_montage(strips, titles, gap=3, group_titles=True)
    assert [t.get_text() for t in grouped.get_yticklabels()] == ["LED", "mercury"]
    assert list(grouped.get_yticks()) == [(0 + 33) / 2 - 0.5, (36 + 51) / 2 - 0.5]
    each = plot_strip_montage(strips, titles, gap=3)
    assert [t.get_text() for t in each.get_yticklabels()] == titles
    plt.close("all")


def test_montage_pads_narrow_strips_white_and_draws_into_a_given_axes():
    fig, ax = plt.subplots()
    out = plot_strip_montage([_strip(0, 480), _strip(0, 300)], ["wide", "narrow"], ax=ax, gap=0)
    assert out is ax
    image = ax.get_images()[0].get_array()
    assert image.shape == (30, 480, 3)
    assert (image[15:, 300:] == 255).all() and (image[15:, :300] == 0).all()
    plt.close(fig)


@pytest.mark.parametrize("strips, titles, message", [
    ([_strip(0)], ["a", "b"], "1 strips but 2 titles"),
    ([np.zeros((15, 480), np.uint8)], ["grey"], "must be \\(rows, columns, 3\\) RGB"),
])
def test_montage_refuses_mismatched_titles_and_non_rgb_strips(strips, titles, message):
    with pytest.raises(ValueError, match=message):
        plot_strip_montage(strips, titles)


def test_first_per_class_picks_the_first_items_of_each_class_class_by_class():
    labels = np.array([3, 0, 0, 3, 0, 6, 3, 3])
    assert records.first_per_class(labels, per_class=2).tolist() == [1, 2, 0, 3, 5]
    assert records.first_per_class(labels, per_class=1).tolist() == [1, 0, 5]
    with pytest.raises(ValueError, match="positive int"):
        records.first_per_class(labels, per_class=0)
