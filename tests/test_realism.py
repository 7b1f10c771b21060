"""spectral_nb.realism: statistics with known answers, the KS distance, ROC AUC and the discriminator."""
from __future__ import annotations

import numpy as np
import pytest

from spectral_nb import STRIP_SHAPE, realism


def flat(level, n: int = 1) -> np.ndarray:
    return np.full((n, *STRIP_SHAPE), level, np.uint8)


def test_statistics_of_a_flat_grey_strip():
    stats = realism.strip_statistics(flat(100))
    assert stats["mean"][0] == stats["dark"][0] == stats["p99"][0] == 100
    assert stats["lit"][0] == 1.0          # every column at 100% of the peak column
    assert stats["chroma"][0] == 0.0       # grey: max - min channel is 0
    assert stats["white"][0] == 0.0 and stats["clip"][0] == 0.0


def test_statistics_of_a_line_on_black():
    strip = flat(0)
    strip[0, :, 100:124] = (255, 40, 0)    # 24 of 480 columns: an orange line, red channel clipped
    stats = realism.strip_statistics(strip)
    assert stats["lit"][0] == pytest.approx(24 / 480)
    assert stats["chroma"][0] == 255       # pure colour: 255 - 0
    assert stats["white"][0] == 0.0        # clipped in one channel, not blown out to white
    assert stats["clip"][0] == pytest.approx(24 / 480)
    assert stats["dark"][0] == 0 and stats["p99"][0] == 255
    strip[0, :, 100:124] = 255
    assert realism.strip_statistics(strip)["white"][0] == 1.0


def test_bad_strips_are_refused():
    with pytest.raises(ValueError, match=r"uint8 \(N, 15, 480, 3\)"):
        realism.strip_statistics(np.zeros((2, 15, 480), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        realism.strip_statistics(np.zeros((2, *STRIP_SHAPE), np.float32))


def test_ks_distance_known_values():
    a = np.arange(10.0)
    assert realism.ks_distance(a, a) == 0.0
    assert realism.ks_distance(a, a + 100) == 1.0
    # half of b lies below every a, half equals a's upper half: the CDFs differ by 0.5 at most
    assert realism.ks_distance(np.array([5.0, 6.0]), np.array([0.0, 6.0])) == 0.5


def test_roc_auc_known_values():
    positive = np.array([True, True, False, False])
    assert realism.roc_auc(np.array([3.0, 4.0, 1.0, 2.0]), positive) == 1.0
    assert realism.roc_auc(np.array([1.0, 2.0, 3.0, 4.0]), positive) == 0.0
    assert realism.roc_auc(np.ones(4), positive) == 0.5  # all tied: half credit
    with pytest.raises(ValueError, match="both"):
        realism.roc_auc(np.ones(3), np.ones(3, bool))


def test_compare_statistics_rows_and_table():
    real, synthetic = flat(50, 4), flat(150, 6)
    labels_real, labels_syn = np.array([0, 0, 1, 1]), np.array([0, 0, 0, 1, 1, 1])
    rows = realism.compare_statistics(realism.strip_statistics(real), labels_real,
                                      realism.strip_statistics(synthetic), labels_syn)
    mean_led = next(r for r in rows if r["statistic"] == "mean" and r["label"] == 0)
    assert (mean_led["real"], mean_led["synthetic"], mean_led["ks"]) == (50, 150, 1.0)
    table = realism.gap_table(rows)
    assert table.splitlines()[0].startswith("| statistic | LED | mercury")
    assert "50 / 150 (1.00)" in table
    assert "nan" in table  # classes with no strips show as nan, not as a number


def test_discriminator_tells_different_sets_apart_and_not_equal_ones():
    rng = np.random.default_rng(0)
    dim = rng.integers(0, 60, (60, *STRIP_SHAPE), dtype=np.uint8)
    bright = rng.integers(120, 256, (60, *STRIP_SHAPE), dtype=np.uint8)
    assert realism.real_vs_synthetic_auc(dim, bright)["auc"] > 0.95
    same_a = rng.integers(0, 256, (60, *STRIP_SHAPE), dtype=np.uint8)
    same_b = rng.integers(0, 256, (60, *STRIP_SHAPE), dtype=np.uint8)
    result = realism.real_vs_synthetic_auc(same_a, same_b)
    assert 0.25 < result["auc"] < 0.75
    assert set(realism.STATISTICS) <= set(result["weights"])
