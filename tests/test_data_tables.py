"""The shipped data tables can be rebuilt from their sources."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_colour_science_table_is_rebuilt_exactly_from_colour_science():
    """tools/export_colour_science_spectra.py rebuilds every row of spectral_nb/data/
    colour_science_spectra_5nm.csv from colour-science (a test dependency) within rounding."""
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "export_colour_science_spectra.py"), "--check"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "OK" in run.stdout


def test_every_atomic_line_of_the_lamp_table_is_a_nist_line():
    """spectral_nb/data/lamp_lines.csv (the one line table of the synthetic lamps and the calibration)
    against the NIST export shipped beside it (nist_visible_lines_from_rascal.csv, Hg, Ne and He):
    every atomic line of those lamps is a NIST line of the same element within 0.01 nm, and the
    calibration's references are lines the lamps emit (or phosphor bands, which are no NIST lines)."""
    import csv

    import numpy as np

    from spectral_nb import lines

    data = ROOT / "spectral_nb" / "data"
    with open(data / "nist_visible_lines_from_rascal.csv", newline="", encoding="utf-8") as f:
        nist = {}
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            nist.setdefault(row["element"], []).append(float(row["air_nm"]))
    checked = 0
    for lamp in ("Hg", "Ne", "He"):
        for use in ("lamp", "calibration"):
            nm, _, is_line = lines.lamp_lines(lamp, use)
            gaps = np.abs(nm[is_line, None] - np.array(nist[lamp])[None, :]).min(axis=1)
            assert np.all(gaps < 0.01), f"{lamp} {use} lines not in the NIST table: {nm[is_line][gaps >= 0.01]}"
            checked += int(is_line.sum())
        emitted = set(lines.lamp_lines(lamp, "lamp")[0])
        nm, _, is_line = lines.lamp_lines(lamp, "calibration")
        assert set(nm[is_line]) <= emitted
    assert checked == 12 + 36 + 15 + 5 + 27 + 9  # every Hg, Ne and He line of both uses
    assert set(lines.lamps("lamp")) == {"Hg", "Ne", "He", "H", "Na"}
    assert set(lines.lamps("calibration")) == {"Hg", "Ne", "He", "H"}


def test_lamp_lines_refuses_an_unknown_use_or_lamp():
    import pytest

    from spectral_nb import lines

    with pytest.raises(ValueError, match="use is 'lamp'"):
        lines.lamp_lines("Hg", "both")
    with pytest.raises(ValueError, match="no calibration lines for 'Na'"):
        lines.lamp_lines("Na", "calibration")
