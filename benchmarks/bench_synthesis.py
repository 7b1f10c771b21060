"""Synthetic spectroscope: rendering speed, and how well synthetic line positions match real profiles.

Run from the repo root: ``.venv/bin/python benchmarks/bench_synthesis.py [--repeats 5]``.

Speed: strips/s of ``render_strip`` and ``generate_strips``, raw photos/s of ``render_photo`` (in
memory) and of ``generate_photo_folder`` (rendering plus JPEG writing); medians over repeats, in
one process and in two (the machine's two cores: ``workers=2``, or two forked processes that each
render half the items in memory).

Profile fidelity (needs ``SPECTRAL_NB_REALDATA``): peaks of a synthetic 1-D profile (mercury/CFL,
neon) and dips (the Sun's Fraunhofer lines) against the real reference profiles in
``$SPECTRAL_NB_REALDATA/profiles/*.csv``: each of the real profile's most prominent features is
matched to the nearest synthetic one; the table gives the offsets (target: within 1 nm).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from spectral_nb import synthesis  # noqa: E402
sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_io import printed_tables, write_results  # noqa: E402


def _once(fn, n_items: int) -> float:
    start = time.perf_counter()
    fn()
    return n_items / (time.perf_counter() - start)


def _render_worker(render, labels, barrier, repeats: int) -> None:
    rng = np.random.default_rng(len(labels))
    for _ in range(repeats):
        barrier.wait()  # start together
        for label in labels:
            render(label, rng)
        barrier.wait()  # done


def _two_processes(render, n_items: int) -> float:
    """``render`` (render_strip or render_photo) in two forked processes, each making half the items
    in memory: the rendering rate of both cores, without the pool and pickling of ``workers=2``.
    One warm-up round, then one timed round."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(3)
    labels = [i % 7 for i in range(n_items)]
    workers = [context.Process(target=_render_worker, args=(render, part, barrier, 2))
               for part in (labels[: n_items // 2], labels[n_items // 2:])]
    for worker in workers:
        worker.start()
    for _ in range(2):
        barrier.wait()
        start = time.perf_counter()
        barrier.wait()
    rate = n_items / (time.perf_counter() - start)
    for worker in workers:
        worker.join()
    return rate


def speed_table(repeats: int, n_strips: int, n_photos: int) -> None:
    print(f"## Speed ({os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at start; "
          f"median of {repeats} interleaved runs, [min, max])")
    print("| what | processes | items per run | items/s median | [min, max] |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for label in range(7):  # warm caches (tables, noise bank)
        synthesis.render_strip(label, rng)
        synthesis.render_photo(label, rng)

    def strips():
        for i in range(n_strips):
            synthesis.render_strip(i % 7, rng)

    def photos():
        for i in range(n_photos):
            synthesis.render_photo(i % 7, rng)

    per_class = n_strips // 7
    photo_class = max(1, n_photos // 7)
    tmp = tempfile.TemporaryDirectory()
    counter = iter(range(10_000))
    rows = [("render_strip", 1, lambda: _once(strips, n_strips), n_strips),
            ("render_strip", 2, lambda: _two_processes(synthesis.render_strip, n_strips), n_strips),
            ("generate_strips", 1, lambda: _once(lambda: synthesis.generate_strips((per_class,) * 7, seed=1), 7 * per_class), 7 * per_class),
            ("generate_strips (workers=2)", 2,
             lambda: _once(lambda: synthesis.generate_strips((per_class,) * 7, seed=1, workers=2), 7 * per_class), 7 * per_class),
            ("render_photo (raw frame in memory)", 1, lambda: _once(photos, n_photos), n_photos),
            ("render_photo (raw frame in memory)", 2, lambda: _two_processes(synthesis.render_photo, n_photos), n_photos)]
    for workers in (1, 2):
        rows.append(("generate_photo_folder (render + JPEG + CSV)", workers,
                     lambda workers=workers: _once(lambda: synthesis.generate_photo_folder(
                         Path(tmp.name) / str(next(counter)), (photo_class,) * 7, seed=2, workers=workers), 7 * photo_class),
                     7 * photo_class))
    # the machine's speed drifts over minutes: every repeat runs every row once, so drift hits all alike
    rates = [[] for _ in rows]
    for _ in range(repeats):
        for i, (_, _, measure, _) in enumerate(rows):
            rates[i].append(measure())
    tmp.cleanup()
    for (name, processes, _, n), r in zip(rows, rates):
        print(f"| {name} | {processes} | {n} | {statistics.median(r):.0f} | [{min(r):.0f}, {max(r):.0f}] |")


def _features(nm: np.ndarray, y: np.ndarray, n: int, dips: bool, rel_prominence: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter1d, median_filter
    from scipy.signal import find_peaks

    if dips:  # Fraunhofer lines: dips below the local continuum
        continuum = median_filter(y, size=max(5, int(15 / np.median(np.diff(nm)))), mode="nearest")
        y = continuum - y
    y = gaussian_filter1d(y, 1.0)
    peaks, props = find_peaks(y, prominence=rel_prominence * float(y.max() - y.min()))
    return np.sort(nm[peaks[np.argsort(props["prominences"])[::-1][:n]]])


def _synthetic_profile(spectrum: synthesis.Spectrum, nm_lo: float, nm_hi: float, step_nm: float, fwhm_nm: float) -> tuple[np.ndarray, np.ndarray]:
    n_px = int(round((nm_hi - nm_lo) / step_nm)) + 1
    instrument = synthesis.Instrument(nm_lo, nm_hi, 0.0, fwhm_nm / 2.355 / step_nm, 0.0)
    camera = synthesis.sample_camera(np.random.default_rng(0))
    profile, nm = synthesis.render_profile(spectrum, instrument, camera, n_px)
    return nm, profile.sum(axis=1)


def fidelity_table(realdata: Path) -> None:
    print("\n## Profile fidelity: feature positions, synthetic vs real reference profiles")
    print("| profile | synthetic source | real features | matched within 1 nm | median abs offset nm | max abs offset nm | offsets nm (real -> synthetic) |")
    print("|---|---|---|---|---|---|---|")
    cases = [
        ("Hg_ref_profile.csv", "CFL", False, 10),
        ("Neon_ref_profile.csv", "Ne", False, 12),
        ("Sun_ref_profile.csv", "sun", True, 12),
    ]
    for filename, kind, dips, n in cases:
        path = realdata / "profiles" / filename
        if not path.exists():
            print(f"| {filename} | skipped: {path} not found | | | | | |")
            continue
        data = np.loadtxt(path, delimiter=",")
        data = data[np.argsort(data[:, 0])]
        nm_real, y_real = data[:, 0], data[:, 1]
        step = float(np.median(np.diff(nm_real)))
        real = _features(nm_real, y_real, n, dips, 0.05 if not dips else 0.02)
        if kind == "CFL":
            # the renderer's tri-phosphor CFL (Hg lines + Eu/Tb phosphors), unrandomised lines
            rng = np.random.default_rng(0)
            spectrum = synthesis.sample_spectrum(1, rng)
            while not spectrum.source in ("CFL", "CCFL", "fluorescent tube"):
                spectrum = synthesis.sample_spectrum(1, rng)
            source = spectrum.source + " (tri-phosphor) + Hg lines"
        elif kind == "Ne":
            spectrum, source = synthesis.lamp_spectrum("Ne"), "Ne lines"
        else:
            rng = np.random.default_rng(0)
            spectrum = synthesis.sample_spectrum(2, rng)
            while spectrum.source != "sun":
                spectrum = synthesis.sample_spectrum(2, rng)
            source = "sun (CIE daylight + Fraunhofer lines)"
        nm_syn, y_syn = _synthetic_profile(spectrum, nm_real[0], nm_real[-1], max(step, 0.1), 1.5)
        synthetic = _features(nm_syn, y_syn, 40, dips, 0.01)
        offsets = np.array([synthetic[np.argmin(np.abs(synthetic - r))] - r for r in real]) if synthetic.size else np.full(real.size, np.nan)
        within = int(np.sum(np.abs(offsets) <= 1.0))
        listing = ", ".join(f"{r:.1f}{o:+.1f}" for r, o in zip(real, offsets))
        print(f"| {filename} | {source} | {real.size} | {within}/{real.size} | {np.median(np.abs(offsets)):.2f} | "
              f"{np.max(np.abs(offsets)):.2f} | {listing} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--strips", type=int, default=1400)
    parser.add_argument("--photos", type=int, default=140)
    args = parser.parse_args()
    with printed_tables() as tables:
        print(f"## Synthesis, generator version {synthesis.GENERATOR_VERSION}")
        speed_table(args.repeats, args.strips, args.photos)
        realdata = os.environ.get("SPECTRAL_NB_REALDATA")
        if not realdata or not Path(realdata).is_dir():
            print("\nskipped: profile fidelity needs SPECTRAL_NB_REALDATA (the real data folder beside the project)")
        else:
            fidelity_table(Path(realdata))
    path = write_results("synthesis", vars(args), "```\n" + tables.getvalue() + "```", {})
    print(f"\nwritten: {path}")


if __name__ == "__main__":
    main()
