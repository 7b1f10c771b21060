"""Running the book: quick/full mode, where each chapter reads and writes, notebook setup.

Every chapter calls :func:`setup_notebook` in its first code cell. It silences TensorFlow's C++
logging *before* TensorFlow is imported, sets seeds and plotting defaults, checks the versions
the book needs, and stops with a plain-words message when an earlier chapter's output is missing.

Quick mode (``SPECTRAL_NB_QUICK=1``, used by the tests) shrinks every size so the whole book runs
in minutes; it reads and writes under ``InputData/quick`` and ``OutputModel/quick`` so a test run
never overwrites what a full run made.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

# Defined in the package's lower layers, which raise and draw them; named here too, as the chapters
# use them: ``book.MissingInputError``, ``book.figure_png``.
from spectral_nb.figures import figure_png  # noqa: F401
from spectral_nb.files import MissingInputError

#: Chapters in reading order (file names in ``notebooks/``).
CHAPTERS: tuple[str, ...] = (
    "00_index.ipynb",
    "01_dataset_inspection.ipynb",
    "02_interactive_preprocessing.ipynb",
    "03_tfrecord_creation.ipynb",
    "04_model_building.ipynb",
    "05_result_analysis.ipynb",
    "06_wavelength_calibration.ipynb",
    "07_adapt_to_your_spectroscope.ipynb",
)

_TRUE = {"1", "true", "yes", "on"}

#: Where :func:`run_book` records how long each chapter took, by mode (relative to the project root;
#: the chapters' "Runtime" lines and the README quote it).
TIMINGS_FILE = "docs/book_timings.json"

#: The kernel every chapter names, exactly as ipykernel's ``python3`` kernel describes itself: a
#: notebook whose stored kernelspec differs (e.g. display name "Python 3") is changed by JupyterLab as
#: soon as it opens, and shows as modified before the reader has touched it.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def is_quick() -> bool:
    """True when ``SPECTRAL_NB_QUICK`` asks for the small, fast version of the book."""
    return os.environ.get("SPECTRAL_NB_QUICK", "").strip().lower() in _TRUE


def project_root() -> Path:
    """The project's root folder (``SPECTRAL_NB_ROOT``, else the checkout this package lives in)."""
    env = os.environ.get("SPECTRAL_NB_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parents[1]
    if (here / "pyproject.toml").exists():
        return here
    for parent in (Path.cwd(), *Path.cwd().parents):
        if (parent / "pyproject.toml").exists() and (parent / "spectral_nb").is_dir():
            return parent
    raise FileNotFoundError(
        "cannot find the spectral-nb project folder; set SPECTRAL_NB_ROOT to the folder that holds "
        "pyproject.toml, notebooks/ and InputData/"
    )


@dataclass(frozen=True)
class BookPaths:
    """Where the book reads and writes, for one mode. All paths are absolute."""

    root: Path
    input_dir: Path
    output_dir: Path
    quick: bool

    @property
    def photos_dir(self) -> Path:
        """Synthetic raw photos, one sub-folder per label, plus ``labels.csv`` (chapter 01)."""
        return self.input_dir / "synthetic" / "photos"

    @property
    def strips_dir(self) -> Path:
        """Preprocessed 15x480 strips mirroring ``photos_dir``, plus ``manifest.csv`` (chapter 02)."""
        return self.input_dir / "synthetic" / "strips"

    @property
    def preprocess_params_path(self) -> Path:
        """Cropping parameters chosen in chapter 02 and read by chapter 03 (JSON)."""
        return self.input_dir / "preprocess_params.json"

    @property
    def records_dir(self) -> Path:
        """TFRecords written by chapter 03: ``synthetic_{train,vali,test}.tfrecords``."""
        return self.input_dir / "records"

    @property
    def nnsic_dir(self) -> Path:
        """The predecessor's public TFRecords once downloaded (shared by both modes)."""
        base = os.environ.get("SPECTRAL_NB_INPUT_DIR")
        return (Path(base) if base else self.root / "InputData") / "nnsic"

    @property
    def model_path(self) -> Path:
        """The trained model, chapter 04's output: takes uint8 (N, 15, 480, 3), gives (N, 7)."""
        return self.output_dir / "spectral_cnn.keras"

    def relative(self, path: Path | str) -> str:
        """``path`` relative to the project root when inside it (for printing, never absolute)."""
        p = Path(path)
        try:
            return str(p.resolve().relative_to(self.root))
        except ValueError:
            return p.name if p.is_absolute() else str(p)


def book_paths(quick: bool | None = None) -> BookPaths:
    """Paths for quick or full mode (default: from ``SPECTRAL_NB_QUICK``).

    ``SPECTRAL_NB_INPUT_DIR`` and ``SPECTRAL_NB_OUTPUT_DIR`` move the data and model folders
    (the tests use them to run chapters in a scratch folder).
    """
    quick = is_quick() if quick is None else quick
    root = project_root()
    in_base = Path(os.environ.get("SPECTRAL_NB_INPUT_DIR") or root / "InputData")
    out_base = Path(os.environ.get("SPECTRAL_NB_OUTPUT_DIR") or root / "OutputModel")
    if quick:
        in_base, out_base = in_base / "quick", out_base / "quick"
    return BookPaths(root=root, input_dir=in_base.resolve(), output_dir=out_base.resolve(), quick=quick)


def resolve_path(path: Path | str, paths: BookPaths) -> Path:
    """A path, or a template naming :class:`BookPaths` fields: ``"{records_dir}/synthetic_train.tfrecords"``."""
    if isinstance(path, str) and "{" in path:
        fields = {name: getattr(paths, name) for name in dir(paths) if not name.startswith("_")}
        path = path.format(**fields)
    return Path(path)


def require_inputs(requires: Mapping[str, Iterable[Path | str]], paths: BookPaths | None = None) -> None:
    """Raise :class:`MissingInputError` naming the notebook to run first if an input is missing.

    ``requires`` maps a notebook name (e.g. ``"03_tfrecord_creation.ipynb"``) to the paths it writes;
    a path may be a template of :class:`BookPaths` fields, e.g. ``"{records_dir}/synthetic_train.tfrecords"``
    (so the first cell can name inputs before it has ``paths``).
    """
    paths = paths or book_paths()
    for notebook, files in requires.items():
        missing = [p for p in (resolve_path(f, paths) for f in files) if not p.exists()]
        if missing:
            mode = "quick" if paths.quick else "full"
            other = ("In full mode (`make lab`) the book needs `make book` first (about 12 minutes)."
                     if paths.quick else
                     "For a first look, quick mode needs only minutes: `make book-quick`, then `make lab-quick`.")
            raise MissingInputError(
                f"This chapter needs {paths.relative(missing[0])}, which notebook {notebook} writes "
                f"({mode} mode). Run {notebook} first (or the whole book: `make book{'-quick' if paths.quick else ''}`, "
                f"or `python -m spectral_nb book{' --quick' if paths.quick else ''}`). {other}"
            )


def _check_versions(tensorflow: bool) -> list[str]:
    """Versions the book was tested with; a mismatch raises with the reason."""
    import numpy as np
    import matplotlib

    found = [f"python {sys.version_info.major}.{sys.version_info.minor}",
             f"numpy {np.__version__}", f"matplotlib {matplotlib.__version__}"]
    assert (3, 10) <= sys.version_info[:2] <= (3, 13), "TensorFlow 2.21 supports Python 3.10 to 3.13"
    if tensorflow:
        import tensorflow as tf
        import keras

        major_minor = tuple(int(x) for x in tf.__version__.split(".")[:2])
        assert major_minor >= (2, 16), (
            f"TensorFlow {tf.__version__} is too old: the book needs Keras 3, which comes with TF >= 2.16"
        )
        assert keras.__version__.startswith("3."), "the book uses Keras 3's .keras model format"
        found += [f"tensorflow {tf.__version__}", f"keras {keras.__version__}"]
    return found


def setup_notebook(
    requires: Mapping[str, Iterable[Path | str]] | None = None,
    seed: int = 42,
    tensorflow: bool = True,
) -> BookPaths:
    """Prepare a chapter: quiet TF logs, seeds, plot defaults, versions, inputs; return its paths.

    Call it in the first code cell, before anything imports TensorFlow. ``requires`` maps the
    notebook that writes an input to that input's paths, given as templates of :class:`BookPaths`
    fields since ``paths`` does not exist yet, e.g.
    ``setup_notebook(requires={"03_tfrecord_creation.ipynb": ["{records_dir}/synthetic_train.tfrecords"]})``
    (see :func:`require_inputs`).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    paths = book_paths()
    if requires:
        require_inputs(requires, paths)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.figsize": (9, 3.5), "figure.dpi": 80, "axes.grid": False,
                         "savefig.bbox": "tight", "image.interpolation": "nearest"})
    versions = _check_versions(tensorflow)
    if tensorflow:
        import keras

        import tensorflow as tf

        keras.utils.set_random_seed(seed)  # seeds Python, NumPy and TensorFlow at once
        tf.get_logger().setLevel("ERROR")  # Python-side notes (e.g. retracing) are not for readers
    else:
        import random

        import numpy as np

        random.seed(seed)
        np.random.seed(seed)
    print(f"{'quick' if paths.quick else 'full'} mode · seed {seed} · " + ", ".join(versions))
    return paths


def clean_notebook(nb, root: Path) -> None:
    """Remove what differs from run to run or machine to machine from an executed notebook."""
    nb.metadata.pop("widgets", None) if _widget_state_is_empty(nb) else None
    nb.metadata["kernelspec"] = dict(KERNELSPEC)  # as JupyterLab writes it, so the chapter opens unmodified
    replacements = [(str(root), "."), (str(Path.home()), "~")]
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            if "application/vnd.jupyter.widget-view+json" in output.get("data", {}):
                # the widget's text fallback is a repr holding (truncated) paths of this machine
                output["data"]["text/plain"] = "(an interactive widget panel: run the notebook to use it)"
            if "text" in output:
                output["text"] = _replace_all(output["text"], replacements)
            for key, value in output.get("data", {}).items():
                if key.startswith("text/") and isinstance(value, str):
                    output["data"][key] = _replace_all(value, replacements)


def _widget_state_is_empty(nb) -> bool:
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    return not state.get("state")


def _replace_all(text: str, replacements: Sequence[tuple[str, str]]) -> str:
    for old, new in replacements:
        text = text.replace(old, new)
    return text


def run_book(quick: bool = False, chapters: Sequence[str] | None = None, cell_timeout: int = 1800) -> list[tuple[str, float]]:
    """Execute the chapters in order, headless; return ``[(chapter, seconds), ...]``.

    Full mode stores the outputs in ``notebooks/`` (cleaned by :func:`clean_notebook`); quick mode
    writes the executed copies to ``OutputModel/quick/book/`` and leaves the committed book alone.
    """
    import nbformat
    from nbclient import NotebookClient

    root = project_root()
    nb_dir = root / "notebooks"
    env_quick = "1" if quick else "0"
    os.environ["SPECTRAL_NB_QUICK"] = env_quick
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("PYTHONHASHSEED", "0")
    out_dir = book_paths(quick).output_dir / "book" if quick else nb_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    timings: list[tuple[str, float]] = []
    for name in chapters or CHAPTERS:
        path = nb_dir / name
        if not path.exists():
            raise FileNotFoundError(f"no chapter {name} in {nb_dir}")
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        print(f"running {name} ({'quick' if quick else 'full'} mode) ...", flush=True)
        client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(nb_dir)}})
        client.execute()
        seconds = time.perf_counter() - start
        record_timing(root, name, seconds, quick)
        if not quick:
            fill_runtime(nb, name, root)   # the chapter states the time it just took
        clean_notebook(nb, root)
        nbformat.write(nb, out_dir / name)
        timings.append((name, seconds))
        print(f"  {name}: {seconds:.1f} s", flush=True)
    index = nb_dir / CHAPTERS[0]
    if not quick and index.exists():   # the index states the whole book's time: now every chapter has run
        nb = nbformat.read(index, as_version=4)
        if fill_runtime(nb, CHAPTERS[0], root):
            nbformat.write(nb, index)
    return timings


def runtime_words(seconds: float) -> str:
    """A run time as the chapters say it: "under a minute", "about a minute", "about 8 minutes"."""
    minutes = round(seconds / 60)
    if seconds < 60:
        return "under a minute"
    return "about a minute" if minutes == 1 else f"about {minutes} minutes"


def runtime_sentence(chapter: str, table: Mapping[str, Mapping[str, Mapping]]) -> str:
    """The ``**Runtime**`` line of ``chapter``'s first cell, from a :data:`TIMINGS_FILE` table (the
    index, ``00_index.ipynb``, gets the whole book's); a mode the table lacks reads "not yet measured"."""
    def words(mode: str) -> str:
        entries = table.get(mode, {})
        if chapter == CHAPTERS[0]:
            if not all(name in entries for name in CHAPTERS):
                return "not yet measured"
            return runtime_words(sum(entries[name]["seconds"] for name in CHAPTERS))
        return runtime_words(entries[chapter]["seconds"]) if chapter in entries else "not yet measured"

    what = "the whole book" if chapter == CHAPTERS[0] else "this chapter"
    return (f"**Runtime** of {what}: {words('full')} in full mode, {words('quick')} in quick mode, on two CPU "
            f"cores (measured by `make book` and `make book-quick`; `{TIMINGS_FILE}`).")


def fill_runtime(nb, chapter: str, root: Path) -> bool:
    """Rewrite the ``**Runtime**`` line of the notebook's first cell from :data:`TIMINGS_FILE`; True if it changed."""
    table = read_timings(root)
    first = nb.cells[0]
    lines = first.source.split("\n")
    new = [runtime_sentence(chapter, table) if line.startswith("**Runtime**") else line for line in lines]
    first.source = "\n".join(new)
    return new != lines


def read_timings(root: Path) -> dict:
    """The :data:`TIMINGS_FILE` table ``{mode: {chapter: {"seconds", "commit", "date"}}}`` of the project
    at ``root`` (empty before the first run), or a ValueError that says what to do with a damaged file."""
    import json

    path = Path(root) / TIMINGS_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not the JSON that run_book writes ({err}); move it away and rerun") from None


def record_timing(root: Path, chapter: str, seconds: float, quick: bool) -> Path:
    """Note in :data:`TIMINGS_FILE` that ``chapter`` ran in ``seconds`` (quick or full mode), with the
    commit and the date; the other chapters' and the other mode's entries stay. Returns the file."""
    import datetime

    from spectral_nb import files

    path = Path(root) / TIMINGS_FILE
    table = read_timings(root)
    # the book run rewrites the notebooks and this file: neither makes the commit "dirty"
    commit = files.git_commit(root, exclude=("notebooks", TIMINGS_FILE))
    table.setdefault("quick" if quick else "full", {})[chapter] = {
        "seconds": round(seconds, 1), "commit": commit, "date": datetime.date.today().isoformat()}
    return files.write_json(path, {mode: dict(sorted(table[mode].items())) for mode in sorted(table)})
