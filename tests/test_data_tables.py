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
