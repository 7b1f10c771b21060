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
