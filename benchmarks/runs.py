"""The exact benchmark runs whose results the README quotes, one per file in ``benchmarks/results/``.

Run from the repo root: ``.venv/bin/python benchmarks/runs.py [--list] [--book-model] [--only NAME ...]`` (``make
benchmarks`` runs them all: hours on 2 cores, most of it training). Each run is a script of
``benchmarks/`` with the arguments that wrote ``benchmarks/results/<name>.md``;
``tests/test_environment.py`` checks that every results file has its run here and that the arguments
recorded in the file are the ones below, so rerunning this list regenerates every figure the README
quotes. Runs that read the book's model (``OutputModel/spectral_cnn.keras``) or records
(``InputData/records``) need ``make book`` first, and every run needs ``SPECTRAL_NB_REALDATA`` (both
are checked before the first run starts). Files under ``benchmarks/results/history/`` were written by
earlier generators and code, are kept for the record, and no command regenerates them.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from results_io import BOOK_RECIPE  # noqa: E402
from spectral_nb.synthesis import GENERATOR_VERSION  # noqa: E402

BOOK_MODEL = "OutputModel/spectral_cnn.keras"


@dataclass(frozen=True)
class Run:
    """One benchmark run: ``benchmarks/<script>`` with ``argv``, writing ``benchmarks/results/<name>.md``."""
    name: str
    script: str
    argv: tuple[str, ...] = ()
    needs_book: bool = False

    def command(self, python: str = sys.executable) -> list[str]:
        return [python, str(ROOT / "benchmarks" / self.script), *self.argv]


RUNS: tuple[Run, ...] = (
    Run("synthesis", "bench_synthesis.py"),
    Run(f"realism_generator_v{GENERATOR_VERSION}", "bench_realism.py", ("--name", f"realism_generator_v{GENERATOR_VERSION}")),
    Run("records", "bench_records.py"),
    Run("model", "bench_model.py"),
    Run("export", "bench_export.py"),
    Run("sim_to_real_book_pipeline", "bench_sim_to_real.py",
        ("--photos", "--configs", "colour+all, wide shift/stretch", "book before the wide model", "--name",
         "sim_to_real_book_pipeline")),
    Run("sim_to_real_nnsic_photo_count", "bench_sim_to_real.py",
        ("--photos", "--photo-scale", "1.0", "--configs", BOOK_RECIPE, "--name", "sim_to_real_nnsic_photo_count")),
    Run("sim_to_real_book_records", "bench_sim_to_real.py",
        ("--records", "InputData/records", "--configs", BOOK_RECIPE, "--name", "sim_to_real_book_records"),
        needs_book=True),
    Run("sim_to_real_book_ablation", "bench_sim_to_real.py",
        ("--records", "InputData/records", "--configs", BOOK_RECIPE, "--book-ablation", "--name",
         "sim_to_real_book_ablation"), needs_book=True),
    Run("sim_to_real_photometric_ablation", "bench_sim_to_real.py",
        ("--records", "InputData/records", "--configs", BOOK_RECIPE, "--ablate", "--name",
         "sim_to_real_photometric_ablation"), needs_book=True),
    Run("real_photos", "bench_real_photos.py", ("--model", BOOK_MODEL), needs_book=True),
    Run("sim_to_real_greyscale_5pct", "bench_sim_to_real.py",
        ("--photos", "--configs", "book + greyscale 5%", "--name", "sim_to_real_greyscale_5pct")),
    Run("real_photos_book_model", "bench_real_photos.py",
        ("--seeds", "--model", BOOK_MODEL, "--name", "real_photos_book_model"), needs_book=True),
    Run("preprocessing", "bench_preprocessing.py", ("--model", BOOK_MODEL), needs_book=True),
    Run("adapt", "bench_adapt.py", ("--model", BOOK_MODEL), needs_book=True),
    Run("analysis", "bench_analysis.py", needs_book=True),
    Run("calibration", "bench_calibration.py", ("--model", BOOK_MODEL), needs_book=True),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print the commands and stop")
    parser.add_argument("--book-model", action="store_true",
                        help="only the runs that read the book's model or records: what to rerun after `make book`")
    parser.add_argument("--only", nargs="+", default=None, choices=[r.name for r in RUNS], metavar="NAME",
                        help="run only these (names of results files)")
    args = parser.parse_args()
    runs = [r for r in RUNS if (args.only is None or r.name in args.only) and (r.needs_book or not args.book_model)]
    if not args.list:  # before hours of runs, not in the middle of them
        missing_book = [r.name for r in runs if r.needs_book and not (ROOT / BOOK_MODEL).is_file()]
        if missing_book:
            raise SystemExit(f"{', '.join(missing_book)} read the book's model {BOOK_MODEL}, which is missing: "
                             "run `make book` first")
        realdata = os.environ.get("SPECTRAL_NB_REALDATA")
        if not realdata or not (Path(realdata) / "nnsic_dev.tfrecords").is_file():
            raise SystemExit("SPECTRAL_NB_REALDATA does not point at the real data (nnsic_dev.tfrecords, raw/, "
                             "raw_more/): without it the benchmarks would overwrite the results files with their "
                             "real-data sections left out; set it, or run a single benchmark by hand")
    for run in runs:
        shown = " ".join(f'"{a}"' if " " in a or not a else a
                         for a in run.command(".venv/bin/python")).replace(f"{ROOT}/", "")
        print(f"== {run.name}: {shown}", flush=True)
        if args.list:
            continue
        subprocess.run(run.command(), cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
