"""Output paths, checked before any work is done, so that a run never ends in "cannot write".

Shared by `poe-engine sample`, `poe-desktop record` and the app's recorder.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import InputError, OutputError

PROBE_PREFIX = ".poe-write-test-"


def stat_input(path: str | Path) -> os.stat_result:
    """`os.stat` of a file to read, or InputError with one line naming it and why not."""
    try:
        return os.stat(path)
    except (OSError, ValueError) as err:  # ValueError: a NUL in the path
        raise InputError(f"{path}: cannot read: {getattr(err, 'strerror', None) or err}"
                         ) from None


def suffix_of(path: str | os.PathLike) -> str:
    """A file name's suffix as every check and writer here compares it: lower case (a
    run.NPZ is an .npz)."""
    return Path(path).suffix.lower()


def check_output_path(
    option: str | None,
    path: str | os.PathLike,
    suffixes: tuple[str, ...] = (),
    folder: bool = False,
) -> Path:
    """Check that `path` can be written, and return it as a Path.

    `option` (e.g. '--out', or None) starts the messages. A file target must have one of
    `suffixes` (when given); with `folder`, the path is a folder to fill (created if
    missing). Missing parent folders are created; the folder that will hold the output
    is probed by creating and removing a temporary file in it.

    Raises InputError for a path that cannot be right anywhere (empty, a folder name where
    a file is due, a wrong suffix) and OutputError for one that names a place this process
    cannot write (under a file, a folder without permission, an existing folder of that
    name); both with one line naming `option` and the path.
    """
    text = os.fspath(path)
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{option or 'output'}: empty path")
    label = f"{option} {text}" if option else text
    if "\0" in text:
        raise InputError(f"{label}: a path cannot contain a NUL character")
    target = Path(text)
    if not folder:
        name = target.name
        if text.endswith(("/", os.sep)) or name in ("", ".", ".."):
            raise InputError(f"{label}: names a folder; give a file name")
        if suffixes and name.lower() in suffixes:
            raise InputError(f"{label}: no file name before {name}")
        if suffixes and suffix_of(target) not in suffixes:
            raise InputError(f"{label}: the output file must end in {' or '.join(suffixes)}")
        if not target.stem.strip():
            raise InputError(f"{label}: blank file name")
    where = target if folder else target.parent
    try:
        if not folder and target.exists():
            if target.is_dir():
                raise OutputError(f"{label}: cannot write there: it is a folder, not a file")
            if not target.is_file():
                raise OutputError(f"{label}: cannot write there: not a regular file")
        for ancestor in (where, *where.parents):
            if ancestor.exists():
                if not ancestor.is_dir():
                    raise OutputError(f"{label}: cannot write there: {_folder(ancestor)} is a "
                                      "file, not a folder")
                break
        where.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"{label}: cannot write there: {err.strerror or err}") from None
    try:
        handle, probe = tempfile.mkstemp(dir=where, prefix=PROBE_PREFIX)
        os.close(handle)
        os.unlink(probe)
    except OSError as err:
        raise OutputError(f"{label}: cannot write in {_folder(where)}: "
                          f"{err.strerror or err}") from None
    if not folder and target.exists():  # an existing file must take writes too
        try:
            with open(target, "ab"):  # appends nothing: the file is left as it is
                pass
        except OSError as err:
            raise OutputError(f"{label}: cannot write: {err.strerror or err}") from None
    return target


def _folder(path: Path) -> str:
    text = str(path)
    return text if text.endswith(os.sep) else text + os.sep
