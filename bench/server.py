"""Serve a folder of feed files on 127.0.0.1 for the ingest benchmark.

This reuses the test suite's server (``tests/feedserver.py``): each file is served with
``FeedServer.serve_file``, so it is read again on every request (a benchmark may rewrite it
between passes), carries an ETag (a hash of the content) and a Last-Modified (its mtime), and
conditional requests get real 304s. Bodies are gzip-compressed for clients that accept it, as
most feed servers do.

The benchmark runs the server in a process of its own (``ServerProcess``), so that serving
does not compete with the measured client for one interpreter lock; on a 2-core machine the
server then has a core and the client the other. Run by hand::

    python bench/server.py FOLDER [--no-gzip]

prints one JSON line ``{"url": ..., "paths": [...]}`` and serves until its standard input
closes or it gets SIGTERM/SIGINT, then prints ``{"requests": N, "errors": [...]}``.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType, TracebackType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from feedserver import FeedServer  # noqa: E402  (tests/ is not a package)

FEED_SUFFIXES = frozenset({".rss", ".atom", ".xml", ".rdf", ".json"})


def serve_folder(server: FeedServer, folder: Path, *, gzip: bool = True) -> list[str]:
    """Serve every feed file of ``folder`` at ``/feeds/NAME``; return the paths."""
    paths = []
    for file in sorted(folder.iterdir()):
        if file.suffix in FEED_SUFFIXES:
            path = f"/feeds/{file.name}"
            server.serve_file(path, file, gzip=gzip)
            paths.append(path)
    return paths


class ServerProcess:
    """``python bench/server.py FOLDER`` in a child process, as a context manager.

    Attributes:
        url: the server's base URL (``http://127.0.0.1:PORT``), once started.
        paths: the paths it serves.
        stats: what the server said when it stopped (requests received, errors).
    """

    def __init__(self, folder: Path, *, gzip: bool = True, python: str = sys.executable) -> None:
        command = [python, str(Path(__file__).resolve()), str(folder)]
        if not gzip:
            command.append("--no-gzip")
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait()
            raise RuntimeError(f"the feed server did not start (exit {self._process.returncode})")
        started = json.loads(line)
        self.url: str = started["url"]
        self.paths: list[str] = started["paths"]
        self.stats: dict[str, object] = {}

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the server (closing its standard input) and collect its closing line."""
        if self._process.poll() is not None:
            return
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.close()
        try:
            tail = self._process.stdout.read()
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
            return
        for line in tail.splitlines():
            if line.startswith("{"):
                self.stats = json.loads(line)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a folder of feeds on 127.0.0.1.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--no-gzip", action="store_true", help="send bodies uncompressed")
    args = parser.parse_args(argv)

    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # Standard input closing (the parent is done, or gone) also stops the server.
    watcher = threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True)
    watcher.start()

    with FeedServer() as server:
        paths = serve_folder(server, args.folder, gzip=not args.no_gzip)
        print(json.dumps({"url": server.url, "paths": paths}), flush=True)
        while not stop.wait(0.5):
            pass
        received = len(server.requests)
    print(
        json.dumps({"requests": received, "errors": [repr(e) for e in server.errors]}),
        flush=True,
    )


if __name__ == "__main__":
    main()
