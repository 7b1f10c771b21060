"""The book's frame: paths per mode, input checks, notebook conventions, running out of order."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from spectral_nb import book

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def test_quick_and_full_mode_never_share_folders(monkeypatch):
    monkeypatch.delenv("SPECTRAL_NB_INPUT_DIR", raising=False)
    monkeypatch.delenv("SPECTRAL_NB_OUTPUT_DIR", raising=False)
    full, quick = book.book_paths(quick=False), book.book_paths(quick=True)
    assert full.model_path == ROOT / "OutputModel" / "spectral_cnn.keras"
    assert quick.input_dir == full.input_dir / "quick"
    assert quick.output_dir == full.output_dir / "quick"
    assert full.nnsic_dir == quick.nnsic_dir == ROOT / "InputData" / "nnsic"


def test_quick_mode_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("SPECTRAL_NB_QUICK", "1")
    assert book.is_quick() and book.book_paths().quick
    monkeypatch.setenv("SPECTRAL_NB_QUICK", "0")
    assert not book.is_quick()


def test_environment_moves_data_and_model_folders(scratch_book):
    paths = book.book_paths()
    assert paths.input_dir == (scratch_book / "InputData" / "quick").resolve()
    assert paths.model_path == (scratch_book / "OutputModel" / "quick" / "spectral_cnn.keras").resolve()


def test_missing_input_names_the_notebook_to_run_first(scratch_book):
    with pytest.raises(book.MissingInputError) as err:
        book.require_inputs({"03_tfrecord_creation.ipynb": ["{records_dir}/synthetic_train.tfrecords"]})
    message = str(err.value)
    assert "Run 03_tfrecord_creation.ipynb first" in message
    assert "synthetic_train.tfrecords" in message
    assert str(scratch_book) not in message, "messages never show a machine's absolute path"
    assert "make book-quick" in message and "make lab" in message  # which mode, and how to fill it
    # in a notebook: the message as one short paragraph, not 25 lines of traceback
    assert err.value._render_traceback_() == [f"MissingInputError: {message}"]
    target = book.book_paths().records_dir / "synthetic_train.tfrecords"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"")
    book.require_inputs({"03_tfrecord_creation.ipynb": ["{records_dir}/synthetic_train.tfrecords"]})


def test_relative_paths_print_without_the_machine_folder():
    paths = book.book_paths(quick=False)
    assert paths.relative(paths.model_path) == "OutputModel/spectral_cnn.keras"
    assert paths.relative("/somewhere/else/file.csv") == "file.csv"


def test_clean_notebook_removes_absolute_paths_and_timings():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(1)")
    cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00"}
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"wrote {ROOT}/InputData/x.csv\n")]
    nb.cells.append(cell)
    book.clean_notebook(nb, ROOT)
    assert "execution" not in nb.cells[0].metadata
    assert nb.cells[0].outputs[0]["text"] == "wrote ./InputData/x.csv\n"


def test_every_chapter_names_its_kernel_as_the_kernel_does():
    """JupyterLab rewrites a kernelspec that differs from the running kernel's (display name "Python 3"
    for ipykernel's "Python 3 (ipykernel)") on opening, so the chapter showed as modified untouched."""
    from jupyter_client.kernelspec import KernelSpecManager

    installed = KernelSpecManager().get_kernel_spec("python3")
    expected = {"display_name": installed.display_name, "language": installed.language, "name": "python3"}
    assert book.KERNELSPEC == expected
    for name in book.CHAPTERS:
        assert json.loads((NOTEBOOKS / name).read_text())["metadata"]["kernelspec"] == expected, name
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}})
    book.clean_notebook(nb, ROOT)
    assert nb.metadata["kernelspec"] == expected


def test_cli_rejects_an_unknown_chapter():
    result = subprocess.run([sys.executable, "-m", "spectral_nb", "book", "--chapters", "42"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode != 0
    assert "no chapter numbered 42" in result.stderr


# --- conventions every chapter follows -------------------------------------------------------

def _notebook(name: str):
    return nbformat.read(NOTEBOOKS / name, as_version=4)


@pytest.mark.parametrize("name", book.CHAPTERS)
def test_chapter_exists_and_opens_as_the_conventions_say(name):
    nb = _notebook(name)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "a chapter opens with its title"
    if name == "00_index.ipynb":
        return
    sources = [c.source for c in nb.cells]
    headings = [s for c, s in zip(nb.cells, sources) if c.cell_type == "markdown"]
    for heading in ("## Setup", "## Parameters", "## Summary", "## Exercises"):
        assert any(heading in h for h in headings), f"{name} has no '{heading}' section"
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "setup_notebook(" in first_code.source, f"{name}: the first code cell calls snb.setup_notebook"


@pytest.mark.parametrize("name", book.CHAPTERS)
def test_committed_outputs_hold_no_machine_paths(name):
    text = (NOTEBOOKS / name).read_text()
    for forbidden in (str(ROOT) + "/", str(Path.home()) + "/", '"/tmp/'):
        assert forbidden not in text, f"{name} shows a machine path ({forbidden})"
    nb = json.loads(text)
    for cell in nb["cells"]:
        assert "execution" not in cell.get("metadata", {}), f"{name} carries execution timings"


# --- running a chapter out of order ------------------------------------------------------------

OUT_OF_ORDER = {
    "02_interactive_preprocessing.ipynb": "01_dataset_inspection.ipynb",
    "03_tfrecord_creation.ipynb": "02_interactive_preprocessing.ipynb",
    "04_model_building.ipynb": "03_tfrecord_creation.ipynb",
    "05_result_analysis.ipynb": "03_tfrecord_creation.ipynb",  # it needs 03 and 04; a fresh clone lacks 03 first
    "06_wavelength_calibration.ipynb": "04_model_building.ipynb",
    "07_adapt_to_your_spectroscope.ipynb": "04_model_building.ipynb",
}


@pytest.mark.parametrize("chapter,first", OUT_OF_ORDER.items())
def test_chapter_run_out_of_order_stops_at_its_first_cell(chapter, first, scratch_book):
    """On a clean checkout (empty data folders) a chapter stops in its first cell, naming the one to run."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = _notebook(chapter)
    for cell in nb.cells:  # the committed book holds outputs and counts of its full run
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    with pytest.raises(CellExecutionError) as err:
        client.execute()
    message = str(err.value)
    assert "MissingInputError" in message
    assert f"Run {first} first" in message
    assert "Traceback" not in message and "site-packages" not in message  # the message, not a traceback
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    ran = [c for c in code_cells if c.get("execution_count")]
    assert len(ran) == 1 and ran[0] is code_cells[0], "it must stop in the first code cell"


def test_run_book_records_each_chapters_time_by_mode(tmp_path):
    """``record_timing`` keeps one entry per chapter and mode (seconds, commit, date): a second run of
    a chapter replaces its entry, other chapters' and the other mode's stay; a damaged file is refused."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    book.record_timing(tmp_path, "04_model_building.ipynb", 483.04, quick=False)
    book.record_timing(tmp_path, "01_dataset_inspection.ipynb", 46.0, quick=False)
    book.record_timing(tmp_path, "04_model_building.ipynb", 61.26, quick=True)
    path = book.record_timing(tmp_path, "04_model_building.ipynb", 470.0, quick=False)
    table = json.loads(path.read_text())
    assert path == tmp_path / book.TIMINGS_FILE
    assert {mode: {ch: e["seconds"] for ch, e in chapters.items()} for mode, chapters in table.items()} == {
        "full": {"01_dataset_inspection.ipynb": 46.0, "04_model_building.ipynb": 470.0},
        "quick": {"04_model_building.ipynb": 61.3}}
    assert table["full"]["01_dataset_inspection.ipynb"]["date"].count("-") == 2
    assert table["full"]["01_dataset_inspection.ipynb"]["commit"]   # a fresh repository has no HEAD: "unknown ..."
    path.write_text("{not json")
    with pytest.raises(ValueError, match="move it away"):
        book.record_timing(tmp_path, "00_index.ipynb", 1.0, quick=False)
    assert path.read_text() == "{not json"   # a file we cannot read is left as it was


def _stated_minutes(words: str) -> float | None:
    """"under a minute" -> 0, "about a minute" -> 1, "about 8 minutes" -> 8; None for "not yet measured"."""
    if words == "not yet measured":
        return None
    if words == "under a minute":
        return 0.0
    if words == "about a minute":
        return 1.0
    number = words.removeprefix("about ").removesuffix(" minutes")
    assert number.isdigit(), f"runtime words {words!r} are not runtime_words'"
    return float(number)


@pytest.mark.parametrize("name", book.CHAPTERS)
def test_every_chapter_states_its_runtime_as_measured(name):
    """Each chapter's first cell says how long it runs in full and quick mode (the index: the whole
    book), and the times agree with what `make book` and `make book-quick` last measured
    (docs/book_timings.json) within a minute or a quarter, whichever is more (runs differ a little)."""
    import re

    table = json.loads((ROOT / book.TIMINGS_FILE).read_text())
    first = "".join(json.loads((NOTEBOOKS / name).read_text())["cells"][0]["source"])
    lines = [line for line in first.splitlines() if line.startswith("**Runtime**")]
    assert len(lines) == 1, f"{name}: the first cell needs one **Runtime** line, as book.runtime_sentence writes it"
    found = re.search(r": (.+) in full mode, (.+) in quick mode, on two CPU cores", lines[0])
    assert found, lines[0]
    for mode, words in zip(("full", "quick"), found.groups()):
        entries = table[mode]
        chapters = book.CHAPTERS if name == book.CHAPTERS[0] else (name,)
        assert all(ch in entries for ch in chapters), f"{book.TIMINGS_FILE} has no {mode}-mode time for {chapters}"
        measured = sum(entries[ch]["seconds"] for ch in chapters) / 60
        stated = _stated_minutes(words)
        assert stated is not None, f"{name}: {mode}-mode runtime not yet measured; run make book / make book-quick"
        if stated == 0:
            assert measured < 1.5, (name, mode, words, measured)
        else:
            assert abs(stated - measured) <= max(1.0, 0.25 * measured), (name, mode, words, measured)


def test_runtime_sentence_is_what_fill_runtime_writes(tmp_path):
    """``runtime_sentence`` from a table: a chapter's own times, the index the sum; a missing mode says so;
    ``fill_runtime`` replaces only the **Runtime** line."""
    table = {"full": {name: {"seconds": 30.0} for name in book.CHAPTERS}}
    table["full"]["04_model_building.ipynb"] = {"seconds": 483.0}
    assert book.runtime_sentence("04_model_building.ipynb", table).startswith(
        "**Runtime** of this chapter: about 8 minutes in full mode, not yet measured in quick mode, on two CPU cores")
    assert "the whole book: about 12 minutes in full mode" in book.runtime_sentence("00_index.ipynb", table)
    assert book.runtime_words(59) == "under a minute" and book.runtime_words(80) == "about a minute"
    (tmp_path / "docs").mkdir()
    (tmp_path / book.TIMINGS_FILE).write_text(json.dumps(table))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 04\n\nintro\n\n**Runtime**: old\n\n**Reads** x")])
    assert book.fill_runtime(nb, "04_model_building.ipynb", tmp_path)
    assert nb.cells[0].source.split("\n")[:3] == ["# 04", "", "intro"]
    assert nb.cells[0].source.endswith("\n\n**Reads** x") and "about 8 minutes in full mode" in nb.cells[0].source
    assert not book.fill_runtime(nb, "04_model_building.ipynb", tmp_path)   # already up to date
