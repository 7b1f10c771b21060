"""Named datasets: the book's synthetic records and nnSIC's public ones (download, checked by blob id)."""
from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Mapping


from spectral_nb import files
from spectral_nb.records.format import SPLITS, _atomic_target

#: nnSIC's public dataset: lcrobert/nnSIC at this commit (branch master), folder InputData/.
NNSIC_COMMIT = "d30aed3f82094ea9cc82e364bb61452165543fe5"
NNSIC_BASE_URL = f"https://raw.githubusercontent.com/lcrobert/nnSIC/{NNSIC_COMMIT}/InputData/"
#: Git blob ids (``git hash-object FILE``) of the three public files: fixed, so a download is checkable.
NNSIC_BLOB_IDS: dict[str, str] = {
    "train": "72e1b0c649d8e43fe6383118d2f095a1c0c10fdb",
    "vali": "58bcf54cb2db9963a531223363ab6fd6701a6959",
    "test": "49db90fba2b8a87de565da59435a3222f259a48f",
}
#: Strips in each public file.
NNSIC_COUNTS: dict[str, int] = {"train": 2696, "vali": 300, "test": 175}

# --------------------------------------------------------------------------- named datasets


def dataset_files(name: str, paths) -> dict[str, Path]:
    """The train/vali/test files of a named dataset, checked to exist.

    ``"synthetic"`` (or any name chapter 03 wrote, e.g. your own photos'):
    ``paths.records_dir/{name}_{split}.tfrecords``; ``"nnsic"``: nnSIC's public files in
    ``paths.nnsic_dir`` (see :func:`download_nnsic`).
    """
    from spectral_nb.files import MissingInputError

    if name == "nnsic":
        files = {s: paths.nnsic_dir / f"MyDataV2_{s}.tfrecords" for s in SPLITS}
        missing = [p for p in files.values() if not p.is_file()]
        if missing:
            raise FileNotFoundError(
                f"nnSIC's public dataset is not in {paths.relative(paths.nnsic_dir)} (missing "
                f"{missing[0].name}). Download it (about 70 MB, needs internet) with "
                f"`spectral_nb.records.download_nnsic(paths.nnsic_dir)`, or by hand from "
                f"{NNSIC_BASE_URL} into that folder")
        return files
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"dataset name {name!r}: use 'synthetic', 'nnsic', or a plain name chapter 03 wrote")
    files = {s: paths.records_dir / f"{name}_{s}.tfrecords" for s in SPLITS}
    missing = [p for p in files.values() if not p.is_file()]
    if missing:
        raise MissingInputError(
            f"dataset {name!r} needs {paths.relative(missing[0])}, which notebook 03_tfrecord_creation.ipynb "
            f"writes (with DATASET = {name!r}). Run it first.")
    return files


def git_blob_id(path: str | Path) -> str:
    """The id ``git hash-object FILE`` prints: sha1 of ``b"blob <size>\\0"`` + the file's bytes."""
    path = Path(path)
    digest = hashlib.sha1(b"blob %d\0" % path.stat().st_size)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_nnsic(dest_dir: str | Path, base_url: str = NNSIC_BASE_URL,
                   blob_ids: Mapping[str, str] = NNSIC_BLOB_IDS, timeout: float = 60.0) -> dict[str, Path]:
    """Download nnSIC's public ``MyDataV2_{train,vali,test}.tfrecords`` into ``dest_dir``, verified.

    A file already there with the published git blob id is reused (no download). Each download
    goes to a temporary file that is kept only if its blob id matches; a mismatch removes that
    temporary file and raises. A different file already at the target is never touched.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for split, expected in blob_ids.items():
        target = dest_dir / f"MyDataV2_{split}.tfrecords"
        if target.exists():
            found = git_blob_id(target)
            if found != expected:
                raise ValueError(f"{target} exists but is not nnSIC's published file (git blob id {found}, "
                                 f"expected {expected}); move it away and call download_nnsic again")
            files[split] = target
            continue
        url = base_url.rstrip("/") + "/" + target.name
        tmp = _atomic_target(target)
        try:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
                    shutil.copyfileobj(response, out, 1 << 20)
            except (urllib.error.URLError, OSError) as err:
                raise ConnectionError(f"could not download {url} ({err}); check the internet connection, "
                                      f"or download it by hand into {dest_dir}") from None
            found = git_blob_id(tmp)
            if found != expected:
                raise ValueError(f"{url} gave a file with git blob id {found}, not the published {expected}: "
                                 f"rejected and removed (a damaged or changed download)")
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                tmp.unlink()
        files[split] = target
    return files
