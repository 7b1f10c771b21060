"""The package's shared input checks (``spectral_nb.check_label``, ``check_labels``): every reader
and maker of strips refuses a bad label with the same message."""
import numpy as np
import pytest

from spectral_nb import NUM_CLASSES, check_label, check_labels
from spectral_nb.records import RecordError


@pytest.mark.parametrize("value, expected", [(0, 0), (np.int64(6), 6), ("3", 3), (" 5 ", 5), (np.uint8(2), 2)])
def test_check_label_takes_integers_and_whole_number_text(value, expected):
    assert check_label(value) == expected and type(check_label(value)) is int


@pytest.mark.parametrize("value, message", [
    (7, "7 is outside 0..6"), (-1, "-1 is outside 0..6"), ("12", "12 is outside 0..6"),
    (True, "True is not an integer class index 0..6 \\(0 LED, 1 mercury"), ("neon", "'neon' is not an integer"),
    (2.0, "2.0 is not an integer"), (None, "None is not an integer"),
])
def test_check_label_refuses_with_where_it_was(value, message):
    with pytest.raises(ValueError, match=f"^labels.csv, row 3: label {message}"):
        check_label(value, "labels.csv, row 3")


def test_check_label_raises_the_error_type_asked_for():
    with pytest.raises(RecordError, match="record 4: label 9"):
        check_label(9, "record 4", RecordError)


def test_check_labels_returns_int64_and_names_the_argument():
    y = check_labels([0, 1.0, 6])
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 6]
    assert check_labels([-1, 2], allow_unknown=True).tolist() == [-1, 2]
    assert check_labels([], n=0).shape == (0,)
    with pytest.raises(ValueError, match=r"y_true holds 1 label\(s\) outside 0..6, e.g. 7"):
        check_labels([0, 7], "y_true")
    with pytest.raises(ValueError, match=r"outside 0..2 or unknown \(-1\), e.g. -2"):
        check_labels([-2, 1], num_classes=3, allow_unknown=True)
    with pytest.raises(ValueError, match=r"labels must be one per strip, shape \(3,\), not shape \(2,\)"):
        check_labels([0, 1], n=3)
    with pytest.raises(ValueError, match="1-D array"):
        check_labels(np.zeros((2, 2), int))
    with pytest.raises(ValueError, match="whole class indices"):
        check_labels([0.5, 1])
    with pytest.raises(ValueError, match="whole class indices"):
        check_labels(["a", "b"])
    assert NUM_CLASSES == 7
