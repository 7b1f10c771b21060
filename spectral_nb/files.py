"""Writing files so that an interrupted run never leaves half a file: one idiom for the whole package.

Everything the book writes (strips, parameters, manifests, labels, records, models, exports) goes
to a fresh temporary file in the target's own folder, which is renamed over the target only once
it is complete (``os.replace`` is atomic within one file system). Text is UTF-8 everywhere.
"""
from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence


class MissingInputError(FileNotFoundError):
    """An input that an earlier chapter writes is missing: the message names that chapter.

    In a notebook it shows as its message alone, not a traceback (IPython's ``_render_traceback_``).
    """

    def _render_traceback_(self) -> list[str]:
        return [f"MissingInputError: {self}"]


def temp_beside(path: str | Path, suffix: str = ".part") -> Path:
    """A new, empty temporary file in ``path``'s folder (created if missing), named after ``path``:
    nobody else's file, and on the same file system, so it can be renamed over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    return Path(tmp)


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = ".part") -> Iterator[Path]:
    """``with atomic_path(target) as tmp:`` write ``tmp`` completely; on leaving the block it replaces
    ``target``; on an error the target is left as it was and ``tmp`` is removed. ``suffix``: what the
    temporary name ends with (a writer may insist on an extension, e.g. Keras on ``.keras``)."""
    path = Path(path)
    tmp = temp_beside(path, suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | Path, data, indent: int | None = 1, sort_keys: bool = False) -> Path:
    """Write ``data`` as JSON (UTF-8, a final newline) to ``path`` atomically; returns the path."""
    return write_text(path, json.dumps(data, indent=indent, sort_keys=sort_keys) + "\n")


def write_csv(path: str | Path, columns: Sequence[str], rows: Iterable[Mapping]) -> Path:
    """Write ``rows`` (dicts; keys beyond ``columns`` are ignored) as a CSV with a header, UTF-8,
    atomically; returns the path."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    return Path(path)


def git_commit(root: str | Path, exclude: Sequence[str] = ()) -> str:
    """The HEAD commit (short) of the git checkout at ``root``, with ``+dirty`` when tracked files differ
    from it; the paths in ``exclude`` (relative to ``root``: what the run stamping the commit writes
    itself) do not count. ``"unknown (not a git checkout)"`` outside one or without git."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "."]
                               + [f":(exclude){path}" for path in exclude], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + ("+dirty" if dirty else "")


__all__ = ["MissingInputError", "temp_beside", "atomic_path", "write_text", "write_json", "write_csv", "git_commit"]

