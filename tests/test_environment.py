"""The declared dependencies: pyproject.toml and environment.yml list the same packages and ranges."""
from __future__ import annotations

import os
import re
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
LINUX_X86 = {"sys_platform": "linux", "platform_machine": "x86_64"}

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    from pip._vendor import tomli as tomllib


def _pyproject_requirements() -> set[tuple[str, str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] + project["optional-dependencies"]["test"]
    reqs = [Requirement(line) for line in lines]
    # environment.yml is for conda on any platform but lists the Linux x86-64 choice (tensorflow-cpu).
    return {(r.name.lower(), str(r.specifier)) for r in reqs if r.marker is None or r.marker.evaluate(LINUX_X86)}


def _environment_yml_requirements() -> set[tuple[str, str]]:
    reqs = set()
    in_pip = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        stripped = line.split("#", 1)[0].rstrip()
        if re.match(r"^\s*- pip:\s*$", stripped):
            in_pip = True
            continue
        match = re.match(r"^\s{6,}- (.+)$", stripped)
        if in_pip and match and not match.group(1).startswith("-e"):
            r = Requirement(match.group(1).strip())
            reqs.add((r.name.lower(), str(r.specifier)))
    return reqs


def test_environment_yml_mirrors_pyproject():
    declared = _pyproject_requirements()
    mirrored = _environment_yml_requirements()
    assert declared, "no dependencies parsed from pyproject.toml"
    assert mirrored == declared, (
        f"environment.yml and pyproject.toml disagree: only in pyproject {sorted(declared - mirrored)}, "
        f"only in environment.yml {sorted(mirrored - declared)}"
    )


def test_every_environment_yml_dependency_says_what_it_is_for():
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if re.match(r"^\s{6,}- [a-z]", line):
            assert "#" in line and line.split("#", 1)[1].strip(), f"no comment on: {line.strip()}"


def test_readme_gives_the_test_command_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make test" in ci


def test_readme_quotes_the_benchmark_result_files():
    """Every results file a benchmark wrote is named in the README, and its headline numbers appear there."""
    import json

    readme = (ROOT / "README.md").read_text()
    results = sorted((ROOT / "benchmarks" / "results").glob("*.json"))
    assert results, "benchmarks/results/ holds no results: run the benchmarks the README quotes"
    for path in results:
        data = json.loads(path.read_text())
        assert f"benchmarks/results/{path.stem}.md" in readme, f"README does not cite {path.name}"
        assert (ROOT / "benchmarks" / "results" / f"{path.stem}.md").is_file()
        assert data["commit"] and data["date"] and "arguments" in data
        res = data["results"]
        if data["benchmark"].startswith("realism"):
            for name, part in res.items():
                if isinstance(part, dict) and "auc" in part:
                    assert f"{part['auc']:.3f}" in readme, f"README lacks the AUC {part['auc']:.3f} of {path.name} ({name})"
        if data["benchmark"].startswith("sim_to_real"):
            import statistics

            for name, runs in res["runs"].items():
                median = statistics.median(r["real_acc"] for r in runs)
                assert f"{median:.3f}" in readme, f"README lacks the median {median:.3f} of {name} in {path.name}"
        if data["benchmark"].startswith("adapt"):  # the learning curves' headline: five strips per class
            for curve in ("real_curve", "second_spectroscope_curve"):
                for row in res.get(curve, []):
                    if row["k"] == 5:
                        assert f"{row['median']:.3f}" in readme, f"README lacks the k=5 median {row['median']:.3f} of {curve} in {path.name}"
        if data["benchmark"].startswith("real_photos") and res.get("median_right") is not None:
            headline = f"{int(res['median_right'])}/{res['in_class']}"
            assert headline in readme, f"README lacks the median {headline} in-class photos right of {path.name}"


def _readme_measurement_tables(readme: str):
    """``(line number, results files, row)`` for every data row of a table in the README's Measurements
    section; a table's files are those the paragraph above it cites and those its rows cite, or, when
    neither cites one, those of the paragraph right after it ("Files: ...")."""
    lines = readme.splitlines()
    start = lines.index("## Measurements")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("## "))
    cite = lambda line: re.findall(r"benchmarks/results/([\w/]+)\.md", line)
    # blocks: runs of non-blank lines, each a paragraph or a table
    blocks, block = [], []
    for i in range(start, end):
        if lines[i].strip():
            block.append(i)
        elif block:
            blocks.append(block)
            block = []
    if block:
        blocks.append(block)
    for k, block in enumerate(blocks):
        rows = [i for i in block if lines[i].startswith("|")]
        if not rows:
            continue
        text_before = [i for i in blocks[k - 1] if not lines[i].startswith("|")] if k else []
        files = [f for i in text_before + block for f in cite(lines[i])]
        if not files and k + 1 < len(blocks):
            files = [f for i in blocks[k + 1] for f in cite(lines[i])]
        for i in rows[2:]:  # past the header and its |---| line
            yield i + 1, tuple(files), lines[i]


#: A number as the README's tables write one: a decimal, a count with thousands commas, a fraction k/n.
_NUMBER = re.compile(r"(?<![\w.,/])(?:\d+\.\d+|\d{1,3}(?:,\d{3})+|\d+/\d+)(%?)(?![\d,/]*\d)")


def _quoted_forms(number: str, percent: bool) -> set[str]:
    """How a results file may print a number the README quotes: as written, without thousands commas, and
    a percentage as the fraction it is (97.7% as 0.977)."""
    forms = {number, number.replace(",", "")}
    if percent and "." in number:
        decimals = len(number.split(".")[1])
        forms.add(f"{float(number) / 100:.{decimals + 2}f}")
    return forms


def test_every_number_in_the_readme_measurement_tables_is_in_its_results_file():
    """Each decimal, count and k/n in a cell of the README's measurement tables (not the first column, which
    names the row) is printed in a results file the table cites: the README quotes, it does not compute."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    results = ROOT / "benchmarks" / "results"
    texts: dict[str, str] = {}  # each results file read once
    checked, missing = 0, []
    for line_no, cited, row in _readme_measurement_tables(readme):
        numbers = [m for cell in row.strip().strip("|").split("|")[1:] for m in _NUMBER.finditer(cell)]
        assert cited or not numbers, f"README line {line_no}: a table row with numbers whose table cites no results file"
        for name in cited:
            if name not in texts:
                texts[name] = (results / f"{name}.md").read_text(encoding="utf-8")
        text = "\n".join(texts[name] for name in set(cited))
        for match in numbers:
            checked += 1
            if not any(form in text for form in _quoted_forms(match.group(0).rstrip("%"), bool(match.group(1)))):
                missing.append(f"README line {line_no}: {match.group(0)} (in {', '.join(cited)})")
    assert checked > 100, f"only {checked} numbers found in the README's measurement tables"
    assert not missing, "numbers in the README's tables that no cited results file prints:\n" + "\n".join(missing)


#: Options that only say where a benchmark writes a picture: they do not change a number.
_OUTPUT_PATHS = ("montage", "figure_dir")
#: Options a benchmark records as a description when it was not given: bench_export writes which model
#: it trained itself in place of ``--model``'s None.
_DESCRIBED = {"bench_export.py": ("model",)}


def _literal_defaults(script: Path) -> dict:
    """``{option: default}`` of a benchmark's ``add_argument`` calls whose default is a literal (flags:
    False), read from its source with ``ast``, so the test does not import TensorFlow."""
    import ast

    defaults = {}
    for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument" and node.args):
            continue
        flag = node.args[0]
        if not (isinstance(flag, ast.Constant) and str(flag.value).startswith("--")):
            continue
        kw = {k.arg: k.value for k in node.keywords}
        key = flag.value[2:].replace("-", "_")
        if "action" in kw and isinstance(kw["action"], ast.Constant) and kw["action"].value == "store_true":
            defaults[key] = False
        elif "default" in kw:
            try:
                defaults[key] = ast.literal_eval(kw["default"])
            except ValueError:
                pass  # computed (a path, a CPU count): not checked
        else:
            defaults[key] = None
    return defaults


def test_every_results_file_has_its_run_in_benchmarks_runs():
    """``make benchmarks`` regenerates what the README quotes: every results file (outside history/) is
    written by a run of ``benchmarks/runs.py``, and each option that run passes is what the file recorded."""
    import json
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import runs
    from spectral_nb.synthesis import GENERATOR_VERSION

    by_name = {run.name: run for run in runs.RUNS}
    results = sorted((ROOT / "benchmarks" / "results").glob("*.json"))
    assert results
    for path in results:
        assert path.stem in by_name, f"{path.name} has no run in benchmarks/runs.py (or move it to results/history/)"
        recorded = json.loads(path.read_text(encoding="utf-8"))["arguments"]
        run = by_name[path.stem]
        versions = set(re.findall(r"generator (?:version )?(\d+)\b", path.with_suffix(".md").read_text(encoding="utf-8")))
        assert versions <= {str(GENERATOR_VERSION)}, (f"{path.stem}.md was written by generator {sorted(versions)}, "
                                                     f"not today's {GENERATOR_VERSION}: rerun it or move it to history/")
        options: dict[str, list[str]] = {}
        key = None
        for arg in run.argv:
            if arg.startswith("--"):
                key = arg[2:].replace("-", "_")
                options[key] = []
            else:
                options[key].append(arg)
        for key, values in options.items():
            assert key in recorded, f"{path.name} did not record --{key}, which its run passes"
            value = recorded[key]
            if not values:  # a flag, or an empty list
                assert value in (True, [], None) or value == [], f"{path.name}: --{key} recorded as {value!r}"
                continue
            as_text = [str(v) for v in (value if isinstance(value, list) else [value])]
            if key in ("model", "records"):  # a path: the run's relative one, recorded absolute or not
                assert as_text[0].endswith(values[0]), f"{path.name}: --{key} {as_text[0]} is not {values[0]}"
            else:
                assert as_text == values, f"{path.name}: --{key} recorded {as_text}, its run passes {values}"
        # and the other way: every option the file recorded that the run does not pass is the script's default
        for key, default in _literal_defaults(ROOT / "benchmarks" / run.script).items():
            if key in options or key in _OUTPUT_PATHS or key not in recorded or key in _DESCRIBED.get(run.script, ()):
                continue
            assert recorded[key] == default, (f"{path.name} recorded --{key.replace('_', '-')} {recorded[key]!r}, "
                                              f"which its run in benchmarks/runs.py does not pass (default {default!r})")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "benchmarks/runs.py" in makefile.split("\nbenchmarks: venv\n", 1)[1].split("\n\n", 1)[0]


def test_a_skip_for_any_reason_but_absent_real_data_fails_ci(tmp_path):
    """Under CI's ``SPECTRAL_NB_STRICT_SKIPS=1`` a module that fails to import must fail the run even if
    a test skips over it (``importorskip``), while the real-data skip stays a skip."""
    import shutil
    import subprocess
    import sys

    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_realdata.py").write_text("def test_real(realdata):\n    pass\n")
    env = {k: v for k, v in os.environ.items() if k != "SPECTRAL_NB_REALDATA"} | {"SPECTRAL_NB_STRICT_SKIPS": "1"}

    def run():
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    ok = run()
    assert ok.returncode == 0, ok.stdout
    assert "1 for absent real data, 0 for any other reason" in ok.stdout
    (tmp_path / "test_broken.py").write_text(
        "import pytest\n\ndef test_model():\n    pytest.importorskip('tensorflow_that_is_broken')\n")
    broken = run()
    assert broken.returncode == 1, broken.stdout
    assert "unexpected skip: test_broken.py::test_model" in broken.stdout


def test_make_test_is_strict_about_skips_by_default():
    """``make test`` (the README's test command) runs pytest with ``SPECTRAL_NB_STRICT_SKIPS`` 1 unless the
    caller sets it, so a broken import fails a reader's run as it fails CI's."""
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ntest: venv\n", 1)[1].split("\n\n", 1)[0]
    assert "SPECTRAL_NB_STRICT_SKIPS=$${SPECTRAL_NB_STRICT_SKIPS:-1}" in recipe, recipe
    assert "-m pytest" in recipe, recipe
