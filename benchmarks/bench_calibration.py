"""Wavelength calibration: accuracy on synthetic strips with known maps, and what calibrates on real strips.

Run from the repository root:

    .venv/bin/python benchmarks/bench_calibration.py [--strips 100] [--seed 0] [--figure-dir /tmp] [--brightness-only]

Synthetic part: strips of each lamp class from ``synthesis.render_strip`` (half of them flipped
left-right, so red is on the left), calibrated from the lamp's lines; the error is the median
over the 480 columns of |fitted nm - true nm|. Variants in the same run: with the peaks' colour
prior (``calibrate_strip``) and without (``calibrate_profile`` on the brightness alone). Also
how often a strip without lines (LED, continuum, nitrogen), wrongly claimed to be a CFL, passes
as calibrated.

Real part (needs SPECTRAL_NB_REALDATA): the dev strips of mercury, neon, helium and hydrogen,
calibrated with their *label* as the lamp (or the predicted class with ``--model``); there is no
true map, so it reports how many calibrate, their residuals, and whether the fitted span is
plausible for a visible-light spectroscope; it saves a figure of the mercury and neon strips.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from spectral_nb import CLASS_NAMES, calibration as cal, synthesis  # noqa: E402
from results_io import printed_tables, real_dev_strips, write_results  # noqa: E402

#: A confident answer this far off (median nm over the span) counts as wrong, not as imprecise.
WRONG_NM = 5.0
#: A fitted map is called plausible when both ends lie in this window (nm) and the span is wide.
PLAUSIBLE_ENDS_NM = (340.0, 800.0)
PLAUSIBLE_MIN_SPAN_NM = 60.0


def synthetic_strips(label: int, n_strips: int, seed: int):
    """``n_strips`` (strip, true nm per column) of class ``label``, odd ones flipped left-right (red on the left).

    Each strip has its own generator (seed, label, index), so strip ``i`` can be re-rendered alone.
    """
    out = []
    for i in range(n_strips):
        strip, truth = synthesis.render_strip(label, np.random.default_rng([seed, label, i]))
        nm = np.asarray(truth["nm_per_column"], float)
        if i % 2:
            strip, nm = strip[:, ::-1], nm[::-1]
        out.append((strip, nm, truth))
    return out


def synthetic_table(n_strips: int, seed: int, figure_dir: Path | None = None, variants=("colour prior",)) -> None:
    print(f"\n## Synthetic strips with known maps ({n_strips} per lamp, half flipped red-left; seed {seed})")
    print("error = median over the 480 columns of |fitted nm - true nm|; 'confidently wrong' = accepted "
          f"calibrations with error > {WRONG_NM:g} nm, as a fraction of the accepted ones")
    print("| lamp | variant | calibrated | median error nm | 90th pct error nm | confidently wrong | ms/strip | refusals |")
    print("|---|---|---|---|---|---|---|---|")
    bad_cases = []
    for label in (1, 3, 4, 5):
        strips = synthetic_strips(label, n_strips, seed)
        for variant in variants:
            errors, wrong, seconds, reasons = [], 0, [], {}
            for i, (strip, nm, truth) in enumerate(strips):
                start = time.perf_counter()
                if variant == "colour prior":
                    result = cal.calibrate_strip(strip, label)
                else:
                    result = cal.calibrate_profile(cal.grey_profile(strip), label)
                seconds.append(time.perf_counter() - start)
                if result.ok:
                    err = float(np.median(cal.calibration_error_nm(result, nm)))
                    errors.append(err)
                    wrong += err > WRONG_NM
                    if err > WRONG_NM:
                        bad_cases.append((label, i, f"WRONG {err:.1f} nm", strip, nm, result))
                else:
                    key = refusal_kind(result.reason)
                    reasons[key] = reasons.get(key, 0) + 1
                    bad_cases.append((label, i, "refused", strip, nm, result))
            ok = len(errors)
            med = f"{np.median(errors):.2f}" if errors else "-"
            p90 = f"{np.percentile(errors, 90):.2f}" if errors else "-"
            frac_wrong = f"{wrong}/{ok} ({100 * wrong / max(ok, 1):.1f}%)"
            print(f"| {CLASS_NAMES[label]} ({cal.LAMP_BY_CLASS[label]}) | {variant} | {ok}/{n_strips} "
                  f"({100 * ok / n_strips:.0f}%) | {med} | {p90} | {frac_wrong} | {1000 * np.median(seconds):.1f} | "
                  + "; ".join(f"{k} x{v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])) + " |")
    print("\n## Strips without lines, claimed to be a CFL (Hg): how many pass as calibrated (should be 0)")
    print("| class | passed as calibrated |")
    print("|---|---|")
    rng = np.random.default_rng(seed)
    for label in (0, 2, 6):
        passed = sum(cal.calibrate_strip(synthesis.render_strip(label, rng)[0], "Hg").ok for _ in range(n_strips))
        print(f"| {CLASS_NAMES[label]} | {passed}/{n_strips} |")
    if figure_dir is not None and bad_cases:
        path = figure_dir / "calibration_synthetic_failures.png"
        save_synthetic_figure(bad_cases[:40], path)
        print(f"\nfigure of {min(len(bad_cases), 40)} refused or wrong synthetic strips (true lines marked): {path}")


def save_synthetic_figure(cases, path: Path) -> None:
    """Each case: the strip, its profile, the true positions of the lamp's lines (cyan) and the matched peaks (labels)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(len(cases), 1, figsize=(11, 1.0 * len(cases) + 0.5), squeeze=False)
    for ax, (label, index, what, strip, nm, result) in zip(axes[:, 0], cases):
        lamp = cal.LAMP_BY_CLASS[label]
        ax.imshow(strip, aspect="auto", extent=(0, strip.shape[1], 0, 1))
        prof = result.profile
        ax.plot(np.arange(prof.size), prof / max(prof.max(), 1) * 0.9, color="w", lw=0.6)
        lines, _, _ = cal.reference_lines(lamp)
        cols = np.arange(nm.size)
        order = np.argsort(nm)
        for line in lines:
            if nm.min() <= line <= nm.max():
                x = np.interp(line, nm[order], cols[order])
                ax.axvline(x, ymin=0.9, ymax=1.0, color="c", lw=1)
                ax.text(x, 0.02, f"{line:.0f}", color="c", fontsize=5, rotation=90, ha="center")
        for px, lnm in zip(result.matched_px, result.matched_nm):
            ax.text(px, 0.55, f"{lnm:.0f}", color="y", fontsize=5, rotation=90, ha="center")
        ax.set_yticks([])
        ax.set_xticks([])
        ax.set_title(f"{lamp} #{index} {what} (true {nm[0]:.0f}->{nm[-1]:.0f} nm): {result.summary()}"[:220],
                     fontsize=6, loc="left", pad=2)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def refusal_kind(reason: str) -> str:
    """A short name for a refusal reason, for the table."""
    for words, kind in (("peak(s) in the profile", "too few peaks"), ("ambiguous", "ambiguous"),
                        ("cover only", "lines cover too little"), ("match", "too few lines match"),
                        ("residuals too large", "residuals too large"), ("dispersion", "implausible dispersion"),
                        ("class", "class has no lines"), ("no map", "no map within priors")):
        if words in reason:
            return kind
    return reason[:40]


def plausible(result: cal.CalibrationResult) -> bool:
    lo, hi = sorted(result.span_nm)
    return PLAUSIBLE_ENDS_NM[0] <= lo and hi <= PLAUSIBLE_ENDS_NM[1] and hi - lo >= PLAUSIBLE_MIN_SPAN_NM


def real_table(figure_dir: Path, model_path: Path | None) -> None:
    real_path = real_dev_strips("bench_calibration's real part")
    if real_path is None:
        return
    from spectral_nb import records

    images, labels, names = records.load_examples(real_path)
    lamps_from = "label"
    classes = labels
    if model_path is not None:
        from spectral_nb import model as book_model

        classes = book_model.predict_proba(book_model.load_trained_model(model_path), images).argmax(axis=1)
        lamps_from = f"model {model_path.name}"
    print(f"\n## Real dev strips (nnsic_dev.tfrecords), lamp from the {lamps_from}; no true map: plausibility only")
    print("| class | strips | calibrated | plausible span | median rms nm | median matched lines | abs dispersion nm/px (min-max) | refusal reasons |")
    print("|---|---|---|---|---|---|---|---|")
    shown = []
    for label in (1, 3, 4, 5):
        idx = np.flatnonzero(labels == label)
        results = [cal.calibrate_strip(images[i], int(classes[i])) for i in idx]
        good = [r for r in results if r.ok]
        reasons: dict[str, int] = {}
        for r in results:
            if not r.ok:
                key = refusal_kind(r.reason)
                reasons[key] = reasons.get(key, 0) + 1
        rms = f"{np.median([r.rms_nm for r in good]):.2f}" if good else "-"
        lines = f"{np.median([r.n_matched for r in good]):.0f}" if good else "-"
        disp = [abs(r.dispersion_nm_per_px) for r in good]
        disp_range = f"{min(disp):.2f}-{max(disp):.2f}" if good else "-"
        print(f"| {CLASS_NAMES[label]} | {idx.size} | {len(good)} | {sum(plausible(r) for r in good)} | {rms} | {lines} | {disp_range} | "
              + "; ".join(f"{k} x{v}" for k, v in reasons.items()) + " |")
        if label in (1, 3):
            shown += [(images[i], names[i], label, r) for i, r in zip(idx, results)]
    figure_dir.mkdir(parents=True, exist_ok=True)
    path = figure_dir / "calibration_real_dev.png"
    save_real_figure(shown, path)
    print(f"\nfigure of the {len(shown)} real mercury and neon strips: {path}")


def save_real_figure(shown, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(shown), 1, figsize=(10, 0.9 * len(shown) + 0.5), squeeze=False)
    for ax, (image, name, label, result) in zip(axes[:, 0], shown):
        ax.imshow(image, aspect="auto", extent=(0, image.shape[1], 0, 1))
        ax.plot(np.arange(result.width), result.profile / max(result.profile.max(), 1) * 0.9, color="w", lw=0.6)
        ax.set_yticks([])
        ax.set_xticks([])
        for px, nm in zip(result.matched_px, result.matched_nm):
            ax.text(px, 0.55, f"{nm:.0f}", color="w", fontsize=5, rotation=90, ha="center")
        ax.set_title(f"{name} ({CLASS_NAMES[label]}): {result.summary()}", fontsize=6, loc="left", pad=2)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strips", type=int, default=100, help="synthetic strips per lamp class")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--figure-dir", type=Path, default=Path("/tmp"), help="where the real-strip figure goes")
    parser.add_argument("--model", type=Path, default=None, help="classify real strips with this .keras model")
    parser.add_argument("--brightness-only", action="store_true",
                        help="also calibrate from the brightness profile alone (no colour prior)")
    parser.add_argument("--no-real", action="store_true", help="skip the real-data part")
    args = parser.parse_args()
    variants = ("colour prior", "brightness only") if args.brightness_only else ("colour prior",)
    with printed_tables() as tables:
        print(f"## Wavelength calibration, generator version {synthesis.GENERATOR_VERSION}")
        synthetic_table(args.strips, args.seed, args.figure_dir, variants)
        if not args.no_real:
            real_table(args.figure_dir, args.model)
    path = write_results("calibration", vars(args), "```\n" + tables.getvalue() + "```", {})
    print(f"\nwritten: {path}")


if __name__ == "__main__":
    main()
