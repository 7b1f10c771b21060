"""Shared fixtures: quick mode, scratch data folders, and the real data beside the project."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

REALDATA_HINT = (
    "SPECTRAL_NB_REALDATA is not set: the real spectroscope data (../shared/realdata beside the "
    "project) is absent, so this measurement on real data is skipped"
)


@pytest.fixture
def realdata() -> Path:
    """The real-data folder from ``SPECTRAL_NB_REALDATA``; skips the test with a clear reason if absent."""
    value = os.environ.get("SPECTRAL_NB_REALDATA")
    if not value:
        pytest.skip(REALDATA_HINT)
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"SPECTRAL_NB_REALDATA={value} is not a folder; skipping the real-data check")
    return path


@pytest.fixture
def scratch_book(tmp_path, monkeypatch) -> Path:
    """Point the book's InputData/OutputModel at a scratch folder, in quick mode."""
    monkeypatch.setenv("SPECTRAL_NB_INPUT_DIR", str(tmp_path / "InputData"))
    monkeypatch.setenv("SPECTRAL_NB_OUTPUT_DIR", str(tmp_path / "OutputModel"))
    monkeypatch.setenv("SPECTRAL_NB_QUICK", "1")
    return tmp_path


# ------------------------------------------------------------------ skips: only the real-data ones
#: Skip reasons that are expected on a machine without the real data beside the project.
EXPECTED_SKIP_PREFIXES = (REALDATA_HINT, "SPECTRAL_NB_REALDATA=")
_skips: list[tuple[str, str]] = []


def pytest_runtest_logreport(report):
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skips.append((report.nodeid, reason.removeprefix("Skipped: ")))


def unexpected_skips(skips: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The skips whose reason is not one of :data:`EXPECTED_SKIP_PREFIXES` (an import that failed, a
    module missing: under ``SPECTRAL_NB_STRICT_SKIPS=1`` they fail the run)."""
    return [(node, reason) for node, reason in skips if not reason.startswith(EXPECTED_SKIP_PREFIXES)]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    unexpected = unexpected_skips(_skips)
    terminalreporter.write_line(f"skips: {len(_skips)} in all, {len(_skips) - len(unexpected)} for absent real data, "
                                f"{len(unexpected)} for any other reason"
                                f"{' (SPECTRAL_NB_STRICT_SKIPS=1: those fail the run)' if _strict() else ''}")
    for node, reason in unexpected:
        terminalreporter.write_line(f"  unexpected skip: {node}: {reason}")


def _strict() -> bool:
    return os.environ.get("SPECTRAL_NB_STRICT_SKIPS") == "1"


def pytest_sessionfinish(session, exitstatus):
    if _strict() and unexpected_skips(_skips) and exitstatus == 0:
        session.exitstatus = 1  # CI: a test that skipped for a reason other than absent real data is a failure
