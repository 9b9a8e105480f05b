"""Safe file writes: atomic (temporary file + rename, nothing partial left on error), never
over an input unless asked, and bounded reads that refuse endless streams."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import UsageError

__all__ = [
    "atomic_dir",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_output",
    "check_output_dir",
    "check_output_file",
    "read_regular_file",
    "same_file",
]


def _public(path: str | Path, directory: bool = False) -> None:
    """Give a temporary file or folder the mode a plain ``open`` / ``mkdir`` would."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, (0o777 if directory else 0o666) & ~mask)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write; renamed over ``path`` when the block
    ends without error, removed otherwise. The parent folder is created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        _public(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """A temporary folder beside ``path`` to fill; it replaces ``path`` (an older folder of
    that name is removed first) when the block ends without error, removed otherwise.
    Its name starts with ``.NAME.`` so that a crash leaves something recognisable."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        _public(tmp, directory=True)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode())


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name the same existing file (links and ``..`` resolved)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_output(out: str | Path, *, inputs: Iterable[str | Path] = (),
                 overwrite: bool = False) -> Path:
    """Refuse to write ``out`` over one of ``inputs`` (always) or over any existing file
    (unless ``overwrite``); a folder is refused too. Returns ``out`` as a Path."""
    out = Path(out)
    for src in inputs:
        if same_file(out, src):
            raise UsageError(f"output {str(out)!r} is the input {str(src)!r}; choose another "
                             "output (the input is never overwritten)")
    if out.is_dir():
        raise UsageError(f"output {str(out)!r} is a folder")
    if out.exists() and not overwrite:
        raise UsageError(f"output {str(out)!r} exists; pass --overwrite to replace it")
    return out


def read_regular_file(path: str | Path, limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes: devices, pipes and folders
    are refused (an endless stream such as /dev/zero would never end)."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError as e:
        raise OSError(f"cannot read {what} {str(path)!r}: {e.strerror or e}") from e
    import stat

    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"cannot read {what} {str(path)!r}: it is a folder")
    if not stat.S_ISREG(st.st_mode):
        raise OSError(f"cannot read {what} {str(path)!r}: not a regular file")
    if st.st_size > limit:
        raise OSError(f"cannot read {what} {str(path)!r}: {st.st_size} bytes, over the limit "
                      f"of {limit}")
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"cannot read {what} {str(path)!r}: over the limit of {limit} bytes")
    return data


def _check_parents(path: Path, what: str) -> None:
    """The nearest existing ancestor of ``path`` must be a writable folder."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"cannot write {what} {str(path)!r}: {str(parent)!r} is a file, "
                         "not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {what} {str(path)!r}: folder {str(parent)!r} is not "
                         "writable")


def check_output_file(path: str | Path, what: str = "output file") -> Path:
    """Refuse, before any work, a file output that cannot be written: an existing folder,
    or a path below a file or in a folder that is not writable. An existing file is
    replaced when written."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"cannot write {what} {str(path)!r}: it is a folder; name a file, "
                         f"such as {str(path / 'metrics.json')!r}")
    _check_parents(path, what)
    return path


def check_output_dir(path: str | Path, what: str = "output folder") -> Path:
    """Refuse, before any work, a folder output that cannot be created: an existing file,
    or a path below a file or in a folder that is not writable. Files already in an
    existing folder stay, except those the output replaces."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"cannot write {what} {str(path)!r}: it is a file, not a folder")
    if not path.exists():
        _check_parents(path, what)
    elif not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {what} {str(path)!r}: the folder is not writable")
    return path
