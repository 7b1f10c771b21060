"""The package's one way of writing files: complete or not at all, UTF-8, never a stray temporary."""
from __future__ import annotations

import pytest

from spectral_nb import files


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "sub" / "params.json"
    files.write_json(target, {"a": 1})
    assert target.read_text(encoding="utf-8") == '{\n "a": 1\n}\n'
    with pytest.raises(RuntimeError):
        with files.atomic_path(target) as tmp:
            tmp.write_text("half a fi", encoding="utf-8")
            raise RuntimeError("the disk filled up")
    assert target.read_text(encoding="utf-8") == '{\n "a": 1\n}\n'  # the old file, whole
    assert sorted(p.name for p in target.parent.iterdir()) == ["params.json"]  # no temporary left


def test_csv_and_text_are_utf8_and_extra_keys_are_ignored(tmp_path):
    path = files.write_csv(tmp_path / "m.csv", ("photo", "label"), [{"photo": "Ångström.png", "label": 1, "x": 9}])
    assert path.read_text(encoding="utf-8").splitlines() == ["photo,label", "Ångström.png,1"]
    assert files.write_text(tmp_path / "t.txt", "λ 656.3 nm").read_text(encoding="utf-8") == "λ 656.3 nm"
    kept = files.temp_beside(tmp_path / "model.keras", suffix=".keras")
    assert kept.parent == tmp_path and kept.name.endswith(".keras") and kept.name.startswith(".model.keras.")
