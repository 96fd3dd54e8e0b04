"""The starter files ``newswatch init`` writes: the bundled config and topics.

They are the project's own ``config/newswatch.yaml`` and ``config/topics.yaml`` (shipped inside
the package as ``newswatch/starter_files``), with the paths that point outside ``config/`` in the
repository layout pointed inside the new folder instead.
"""

from __future__ import annotations

from pathlib import Path

from newswatch.errors import UsageError
from newswatch.files import write_text_atomic

STARTER_DIR = Path(__file__).resolve().parent / "starter_files"
CONFIG_NAME = "newswatch.yaml"
TOPICS_NAME = "topics.yaml"

# In the repository the data and digests live beside config/; in an init'ed folder, inside it.
_REPO_PATHS = {
    'url: "sqlite:///../data/newswatch.db"': 'url: "sqlite:///data/newswatch.db"',
    "dir: ../digests": "dir: digests",
}


def starter_config_text() -> str:
    """The starter config, with its paths relative to the folder it is written to."""
    text = (STARTER_DIR / CONFIG_NAME).read_text(encoding="utf-8")
    for old, new in _REPO_PATHS.items():
        if old not in text:
            raise AssertionError(f"bundled config no longer contains {old!r}")
        text = text.replace(old, new)
    return text


def write_starter(directory: Path, *, force: bool = False) -> list[Path]:
    """Write the starter config and topics file into ``directory`` (created if missing).

    Returns:
        The files written, the config first.

    Raises:
        UsageError: a file exists and ``force`` is false.
        NewswatchError: the folder cannot be written.
    """
    files = {
        directory / CONFIG_NAME: starter_config_text(),
        directory / TOPICS_NAME: (STARTER_DIR / TOPICS_NAME).read_text(encoding="utf-8"),
    }
    if not force:
        existing = [str(path) for path in files if path.exists()]
        if existing:
            raise UsageError(f"{', '.join(existing)} already exists; use --force to overwrite")
    for path, text in files.items():
        write_text_atomic(path, text)
    return list(files)
