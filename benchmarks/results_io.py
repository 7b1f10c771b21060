"""Where a benchmark leaves its results: ``benchmarks/results/<name>.md`` (the printed tables) and
``<name>.json`` (the numbers), each with the commit, the arguments and the date, so the README
can quote a file instead of a memory. ``tests/test_environment.py`` checks that it does."""
from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from spectral_nb import files  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: The book's training recipe (chapter 04) by its name in ``bench_sim_to_real.CONFIGS``.
BOOK_RECIPE = "book + greyscale 5%"


def commit_id() -> str:
    """The repository's HEAD commit (short), with ``+dirty`` when tracked files differ from it; the
    results files themselves (``benchmarks/results/``, what the runs write one after another) do not count."""
    return files.git_commit(Path(__file__).resolve().parents[1], exclude=("benchmarks/results",))


def write_results(name: str, args: dict, tables: str, data: dict) -> Path:
    """Write ``tables`` (markdown, as printed) and ``data`` (JSON-able) under :data:`RESULTS_DIR`; returns the .md path."""
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = {"benchmark": name, "commit": commit_id(), "date": datetime.date.today().isoformat(),
             "arguments": {k: (str(v) if isinstance(v, Path) else v) for k, v in args.items()}}
    md = RESULTS_DIR / f"{name}.md"
    files.write_text(md, f"<!-- {json.dumps(stamp)} -->\n# {name}\n\ncommit {stamp['commit']}, {stamp['date']}, "
                         f"arguments {json.dumps(stamp['arguments'])}\n\n{tables.rstrip()}\n")
    files.write_json(RESULTS_DIR / f"{name}.json", {**stamp, "results": data})
    return md


def real_dev_strips(benchmark: str) -> Path | None:
    """``$SPECTRAL_NB_REALDATA/nnsic_dev.tfrecords`` when it exists; otherwise prints why ``benchmark``
    skips and returns None (a fresh clone has no real data: the benchmark then measures nothing)."""
    realdata = os.environ.get("SPECTRAL_NB_REALDATA")
    path = Path(realdata) / "nnsic_dev.tfrecords" if realdata else None
    if path is None or not path.is_file():
        print(f"skipped: {benchmark} needs SPECTRAL_NB_REALDATA pointing at a folder with nnsic_dev.tfrecords "
              "(the real data beside the project)")
        return None
    return path


class _Tee(io.TextIOBase):
    def __init__(self, *streams):
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


@contextlib.contextmanager
def printed_tables():
    """Everything printed inside the ``with`` goes to the terminal and into the yielded buffer, for
    benchmarks whose tables are their prints (``write_results(name, args, buffer.getvalue(), {})``)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(_Tee(sys.stdout, buffer)):
        yield buffer
