"""Writing files so that a reader never sees half of one: write beside it, then rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from newswatch.errors import NewswatchError


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a crash leaves the old file or the new one).

    Raises:
        NewswatchError: the folder cannot be created or written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise NewswatchError(f"cannot write {path}: {exc.strerror or exc}") from None
