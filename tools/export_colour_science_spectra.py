"""Export the colour-science spectra shipped as ``spectral_nb/data/colour_science_spectra_5nm.csv``.

Every row comes from colour-science (``colour.SDS_ILLUMINANTS``, ``colour.SDS_LIGHT_SOURCES`` and
the CIE D-series basis ``colour.colorimetry.SDS_BASIS_FUNCTIONS_CIE_ILLUMINANT_D_SERIES``),
resampled to 380-780 nm in 5 nm steps and written with 4 significant digits:

* Resampling: ``numpy.interp`` (linear) on the tabulated values, zero outside the tabulated
  range. Every source is tabulated on this 5 nm grid (or a wider one) except
  "ISO 7589 Studio Tungsten" (350-690 nm in 10 nm steps): it gets linear midpoints and zeros at
  695-780 nm, as in the shipped file. colour's own interpolators (``sd[wl]``, ``sd.align``) do
  not reproduce the file: the extrapolation differs and Sprague's float noise flips the last
  digit of S0 at 525 nm (107.7 vs 107.6).
* Fluorescent lamps: the Hg lines blurred into the 405/435/545/575/580 nm bins are removed, so
  that the renderer can add them back as sharp lines. A bin is never raised, only lowered to:
  405, 435 -> the mean of its two neighbours; 545 -> that mean plus 40% of the bin's excess over it
  (60% removed); 575, 580 -> the straight line from 570 to 585 nm. (In the colour-science data
  the 405/435/545 bins always lie above their neighbours' mean; at 575/580 the bin is sometimes
  below the line and then kept, e.g. FL10 at 575 nm.)
* Normalisation: each row is divided by its maximum (after the Hg removal), except the D-series
  basis S0/S1/S2, which is written as tabulated.

Usage (from the repository root)::

    python tools/export_colour_science_spectra.py              # CSV to stdout
    python tools/export_colour_science_spectra.py out.csv      # CSV to out.csv
    python tools/export_colour_science_spectra.py --check      # compare with the shipped CSV

``--check`` prints, per row, the largest absolute difference from the shipped file and exits 1
if any row differs by more than ``--tol`` (default 0.002) or the rows differ in kind or name.
The shipped CSV is never overwritten unless its path is given together with ``--force``.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import warnings
from pathlib import Path

import numpy as np

SHIPPED = Path(__file__).resolve().parents[1] / "spectral_nb" / "data" / "colour_science_spectra_5nm.csv"
GRID = np.arange(380, 781, 5)

# (kind, colour-science name), in the shipped order. All names are colour-science keys as spelled.
ROWS: list[tuple[str, str]] = (
    [("led", n) for n in (
        "LED-B1", "LED-B2", "LED-B3", "LED-B4", "LED-B5", "LED-BH1", "LED-RGB1", "LED-V1", "LED-V2",
        "PHOS-1", "PHOS-2", "PHOS-3", "PHOS-4", "Phosphor LED YAG", "Luxeon WW 2880",
        "3-LED-1 (457/540/605)", "3-LED-3 (465/546/614)",
        "4-LED-1 (461/526/576/624)", "4-LED-2 (447/512/573/627)")]
    + [("fluorescent", n) for n in (
        [f"FL{i}" for i in range(1, 13)] + [f"FL3.{i}" for i in range(1, 16)]
        + ["Cool White FL", "Daylight FL", "Triphosphor FL", "Philips TL-84",
           "T8 Luxline Plus White", "T8 Polylux 3000", "T8 Polylux 4000", "Thorn Kolor-rite",
           "Natural", "F32T8/TL830 (Triphosphor)", "F32T8/TL841 (Triphosphor)",
           "F32T8/TL865/PLUS (Triphosphor)", "F40/DX (Broadband FL)",
           "F34T12WW/RS/EW (Warm White FL)"])]
    + [("continuum", n) for n in (
        "A", "D50", "D65", "D75", "ID65", "ISO 7589 Studio Tungsten", "Incandescent",
        "60 A/W (Soft White)", "Neodimium Incandescent")]
    + [("sodium", n) for n in ("LPS", "HPS", "Super HPS", "C100S54 (HPS)")]
    + [("daylight_basis", n) for n in ("S0", "S1", "S2")]
)

HEADER = """\
# Source: colour-science {version} (BSD-3-Clause) SDS_ILLUMINANTS (CIE 15:2018, CIE 2018 LED illuminants), SDS_LIGHT_SOURCES (NIST CQS 7.4, RIT) and the CIE D-series basis S0/S1/S2; exported by tools/export_colour_science_spectra.py.
# Relative spectral power (peak = 1, except the D-series basis) at 380-780 nm in 5 nm steps. For fluorescent
# lamps the Hg lines blurred into the 405/435/545/575/580 nm bins were removed (545: 60% of its excess),
# so that the renderer can add them back as sharp lines at their true air wavelengths.
"""


def _i(nm: int) -> int:
    return int(np.flatnonzero(GRID == nm)[0])


def remove_hg_bins(v: np.ndarray) -> np.ndarray:
    """Lower the 405/435/545/575/580 nm bins of a fluorescent spectrum on GRID (see the docstring)."""
    out = v.copy()
    for nm in (405, 435):
        i = _i(nm)
        out[i] = min(v[i], (v[i - 1] + v[i + 1]) / 2)
    i = _i(545)
    base = (v[i - 1] + v[i + 1]) / 2
    out[i] = base + 0.4 * max(v[i] - base, 0.0)
    a, b = _i(570), _i(585)
    for nm in (575, 580):
        out[_i(nm)] = min(v[_i(nm)], v[a] + (nm - 570) / 15 * (v[b] - v[a]))
    return out


def build_rows() -> list[tuple[str, str, np.ndarray]]:
    """(kind, name, values on GRID) for every row, from colour-science."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import colour
        from colour.colorimetry import SDS_BASIS_FUNCTIONS_CIE_ILLUMINANT_D_SERIES as basis
    rows = []
    for kind, name in ROWS:
        if kind == "daylight_basis":
            sd = basis[name]
        elif name in colour.SDS_ILLUMINANTS:
            sd = colour.SDS_ILLUMINANTS[name]
        else:
            sd = colour.SDS_LIGHT_SOURCES[name]
        v = np.interp(GRID, sd.wavelengths, sd.values, left=0.0, right=0.0)
        if kind == "fluorescent":
            v = remove_hg_bins(v)
        if kind != "daylight_basis":
            v = v / v.max()
        rows.append((kind, name, v))
    return rows


def to_csv(rows: list[tuple[str, str, np.ndarray]]) -> str:
    import colour

    buf = io.StringIO()
    buf.write(HEADER.format(version=colour.__version__))
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["kind", "name", *(str(int(nm)) for nm in GRID)])
    for kind, name, v in rows:
        w.writerow([kind, name, *(f"{x:.4g}" for x in v)])
    return buf.getvalue()


def read_csv(text: str) -> list[tuple[str, str, np.ndarray]]:
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    table = list(csv.reader(lines))
    return [(r[0], r[1], np.array([float(x) for x in r[2:]])) for r in table[1:]]


def check(text: str, tol: float) -> int:
    """Compare the exported CSV text with the shipped file; 0 if every row is within tol."""
    ours = read_csv(text)
    shipped = read_csv(SHIPPED.read_text())
    ok = len(ours) == len(shipped)
    if not ok:
        print(f"row count differs: {len(ours)} exported, {len(shipped)} shipped")
    worst: dict[str, float] = {}
    for (k1, n1, v1), (k2, n2, v2) in zip(ours, shipped):
        if (k1, n1) != (k2, n2) or v1.shape != v2.shape:
            print(f"MISMATCH  exported {k1},{n1}  shipped {k2},{n2}")
            ok = False
            continue
        d = float(np.max(np.abs(v1 - v2)))
        worst[k1] = max(worst.get(k1, 0.0), d)
        flag = "  FAIL" if d > tol else ""
        ok &= d <= tol
        where = f" at {GRID[np.argmax(np.abs(v1 - v2))]} nm" if d > 0 else ""
        print(f"{k1:15s} {n1:32s} max |diff| = {d:.3g}{where}{flag}")
    print("largest per kind: " + ", ".join(f"{k} {d:.3g}" for k, d in worst.items()))
    print(f"{'OK' if ok else 'FAILED'}: tolerance {tol}, shipped file {SHIPPED}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("output", nargs="?", help="where to write the CSV (default: stdout, or nothing with --check)")
    p.add_argument("--check", action="store_true", help="compare with the shipped CSV, per row")
    p.add_argument("--tol", type=float, default=0.002, help="largest allowed absolute difference (default 0.002)")
    p.add_argument("--force", action="store_true", help="allow OUTPUT to be the shipped CSV itself")
    args = p.parse_args(argv)

    text = to_csv(build_rows())
    if args.output:
        out = Path(args.output)
        if out.resolve() == SHIPPED and not args.force:
            p.error(f"refusing to overwrite the shipped {SHIPPED} (add --force to do it)")
        out.write_text(text)
    elif not args.check:
        sys.stdout.write(text)
    return check(text, args.tol) if args.check else 0


if __name__ == "__main__":
    sys.exit(main())
