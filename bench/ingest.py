"""Ingest benchmark: how fast newswatch fetches, parses, normalises, stores and clusters feeds.

Run from the repository root::

    .venv/bin/python bench/ingest.py [--feeds N] [--runs R] [--profile] [--reader-python PATH]

It writes a synthetic corpus (``bench/corpus.py``: ``--feeds`` feeds, 200 by default, about
40 entries each), serves it on 127.0.0.1 from a separate process (``bench/server.py``, which
reuses the test suite's feed server: ETag, Last-Modified, real 304s, gzip), and then, ``--runs``
times (3 by default), each time in a fresh process on a fresh SQLite database:

* ``transport`` (measured last, listed first): newswatch's HTTP fetcher alone downloads every
  feed, all bodies at once (no parsing, no database): the floor the server and HTTP stack set;
* ``cold``: ``Monitor.fetch(everything=True)`` on the empty database: every feed answers 200
  and every entry is parsed, normalised, stored, clustered into stories (and tagged);
* ``warm``: the same again: every feed answers 304 Not Modified;
* ``changed``: 10 % of the files are rewritten with 2 to 6 new entries each (and as many old
  ones dropped), then the same pass: 10 % 200s, the rest 304s.

It prints, per pass, the median over the runs of the wall-clock seconds, the entries stored
(new plus updated articles) and entries per second, the CPU seconds of the measured process
and its worker processes (all their threads but the bench's own memory sampler; the server's
are not counted) and entries per CPU second, the 1-minute load
average when the pass ended (anything above about 1.5 on 2 cores means other work competed
for the CPUs, and wall-clock figures are inflated; CPU seconds much less so), the peak RSS of
the process (see ``peak_rss_mb``), and checks of what was stored against the corpus: feeds
that failed, feeds with fewer articles than entries, articles left without a story, and how
the syndicated copies were grouped.

When the ``reader`` library (lemon24/reader) is importable, here or in the interpreter given
with ``--reader-python`` (or ``$BENCH_READER_PYTHON``), its cold, warm and changed passes run
on the same corpus served the same way (``make_reader``, ``add_feed`` for each URL,
``update_feeds_iter(scheduled=False, workers=--concurrency)``) and the ratios newswatch/reader
are printed. reader is not a dependency of newswatch: install it in a separate environment.

``--profile`` adds one more run under cProfile and prints, for the cold pass, the top
cumulative hotspots in newswatch's code, for the event-loop thread and for the storage thread
(parse, normalise, store) separately, and the top functions by own time overall (the warm and
changed passes get a shorter list).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from corpus import STORY_TOKEN, write_corpus  # noqa: E402
from server import ServerProcess  # noqa: E402

PASSES = ("cold", "warm", "changed")
#: Environment variables that would point newswatch somewhere else than the benchmark's files.
NEWSWATCH_ENV = ("NEWSWATCH_DATABASE_URL", "NEWSWATCH_CONFIG")

Result = dict[str, Any]


# --------------------------------------------------------------------------------------------
# Helpers shared by the workers
# --------------------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """The peak resident set size of this process so far, in MiB.

    ``getrusage(RUSAGE_SELF).ru_maxrss`` is the portable figure, but Linux carries it over a
    fork and an exec: a worker would report the orchestrator's peak (the whole corpus built
    in memory) when its own is lower. So on Linux the kernel's high-water mark of this
    process's own memory (``VmHWM`` in ``/proc/self/status``, reset by exec) is used instead.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class ProcessTree:
    """Samples this process and its descendants (newswatch's worker processes, their fork
    server) every 100 ms: CPU time of the descendants, and the peak of the memory all of them
    hold at once — resident (RSS) and proportional (PSS: pages shared between processes, as
    forked workers share their parent's, counted once in all).

    ``process_time`` and ``VmHWM`` see this process alone; the workers do much of the work.
    """

    INTERVAL = 0.1

    def __init__(self) -> None:
        self._tick = os.sysconf("SC_CLK_TCK")
        self._cpu: dict[int, float] = {}  # descendant pid -> CPU seconds, last seen
        self._base: dict[int, float] = {}  # CPU seconds when the current pass started
        self.peak_rss_mb = 0.0
        self.peak_pss_mb = 0.0
        self.own_cpu = 0.0  # CPU seconds the sampling thread used since ``start_pass``
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def start_pass(self) -> None:
        """Start counting descendants' CPU and the memory peak afresh."""
        self._sample()
        self._base = dict(self._cpu)
        self.peak_rss_mb = self.peak_pss_mb = 0.0
        self.own_cpu = 0.0

    def children_cpu(self) -> float:
        """CPU seconds the descendants used since ``start_pass``."""
        self._sample()
        return sum(cpu - self._base.get(pid, 0.0) for pid, cpu in self._cpu.items())

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        # Reading smaps_rollup walks a process's page tables: PSS is read every 5th sample
        # (RSS every time); what the sampling itself costs is kept apart (``own_cpu``) and
        # left out of the pass's CPU seconds.
        count = 0
        while not self._stop.wait(self.INTERVAL):
            started = time.thread_time()
            self._sample(pss=count % 5 == 0)
            self.own_cpu += time.thread_time() - started
            count += 1

    def _descendants(self) -> list[int]:
        # Walk the tree through each thread's ``children`` file: a few small reads, where
        # scanning all of /proc cost about 1 ms a sample, counted against the pass measured.
        mine: list[int] = []
        todo = [os.getpid()]
        while todo:
            pid = todo.pop()
            try:
                threads = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in threads:
                try:
                    with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as children:
                        found = [int(child) for child in children.read().split()]
                except OSError:
                    continue
                mine.extend(found)
                todo.extend(found)
        return sorted(mine)

    def _sample(self, pss: bool = True) -> None:
        rss = _status_kib(os.getpid(), "VmRSS:")
        total_pss = _pss_kib(os.getpid()) if pss else 0
        for pid in self._descendants():
            try:
                with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            self._cpu[pid] = (int(fields[11]) + int(fields[12])) / self._tick
            rss += _status_kib(pid, "VmRSS:")
            if pss:
                total_pss += _pss_kib(pid)
        self.peak_rss_mb = max(self.peak_rss_mb, rss / 1024)
        self.peak_pss_mb = max(self.peak_pss_mb, total_pss / 1024)


def _status_kib(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def load_manifest(corpus: Path) -> Result:
    """The corpus manifest written by ``corpus.write_corpus``."""
    manifest: Result = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    return manifest


def restore(corpus: Path, live: Path) -> None:
    """Make the served folder the base corpus again."""
    live.mkdir(parents=True, exist_ok=True)
    for file in (corpus / "base").iterdir():
        shutil.copyfile(file, live / file.name)


def apply_changes(corpus: Path, live: Path) -> None:
    """Overwrite the changed feeds in the served folder with their new versions."""
    for file in (corpus / "changed").iterdir():
        shutil.copyfile(file, live / file.name)


def story_of(*texts: str | None) -> int | None:
    """The corpus story number written in a GUID or link (``story-<number>``)."""
    for text in texts:
        match = STORY_TOKEN.search(text or "")
        if match:
            return int(match.group(1))
    return None


# --------------------------------------------------------------------------------------------
# newswatch worker (runs in its own process)
# --------------------------------------------------------------------------------------------


class _Probe:
    """Per pass: time spent in the pipeline's stages, and the storage thread's profiler."""

    def __init__(self) -> None:
        self.process = 0.0
        self.cluster = 0.0
        self.tag = 0.0
        self.feeds = 0
        self.store_profile: Any | None = None

    def reset(self, store_profile: Any | None = None) -> None:
        self.process = self.cluster = self.tag = 0.0
        self.feeds = 0
        self.store_profile = store_profile


def _instrument(probe: _Probe) -> None:
    """Wrap the stages of a pass with timers: per-feed processing on the storage thread,
    story clustering, and tagging when ``Monitor.fetch`` does it.

    cProfile only sees the thread it is enabled in; the parse/normalise/store work runs on
    newswatch's single storage thread, so it gets a profiler of its own, switched on around
    each call.
    """
    from newswatch import app, ingest

    processor = ingest._Processor
    cluster = processor.cluster_new_articles

    def timed(method: Callable[..., Any]) -> Callable[..., Any]:
        def timed_method(self: Any, *args: Any) -> Any:
            started = time.perf_counter()
            profile = probe.store_profile
            if profile is not None:
                profile.enable()
            try:
                return method(self, *args)
            finally:
                if profile is not None:
                    profile.disable()
                probe.process += time.perf_counter() - started
                probe.feeds += 1

        return timed_method

    # The storage thread runs one of these per feed: ``process`` prepares and stores (small
    # passes), ``store`` stores what a worker process prepared.
    processor.process = timed(processor.process)  # type: ignore[method-assign]
    processor.store = timed(processor.store)  # type: ignore[method-assign]

    def timed_cluster(self: Any) -> None:
        started = time.perf_counter()
        try:
            cluster(self)
        finally:
            probe.cluster += time.perf_counter() - started

    processor.cluster_new_articles = timed_cluster  # type: ignore[method-assign]

    tag = getattr(app.Monitor, "tag", None)
    if tag is not None:

        def timed_tag(self: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return tag(self, *args, **kwargs)
            finally:
                probe.tag += time.perf_counter() - started

        app.Monitor.tag = timed_tag  # type: ignore[method-assign]


def _write_config(
    work: Path, urls: Sequence[str], concurrency: int, workers: int | None, topics: bool
) -> Path:
    fetch: dict[str, Any] = {
        # Every feed is on one loopback host, so the per-host limit must be as high as the
        # overall one, or it alone would set the pace.
        "concurrency": concurrency,
        "per_host": concurrency,
        "timeout": "30s",
    }
    if workers is not None:
        fetch["workers"] = workers
    config: dict[str, Any] = {
        "database": {"url": f"sqlite:///{work / 'newswatch.db'}"},
        "fetch": fetch,
        "feeds": [{"url": url} for url in urls],
    }
    # The briefing's topics (the repository's topics file): every pass tags what it stores.
    if topics:
        config["topics_file"] = str(ROOT / "config" / "topics.yaml")
    else:
        config["topics"] = []
    path = work / "newswatch.yaml"
    path.write_text(json.dumps(config, indent=1), encoding="utf-8")  # JSON is YAML
    return path


def _transport_pass(settings: Any, urls: Sequence[str]) -> Result:
    """Download every feed with newswatch's fetcher and nothing else."""
    import asyncio

    from newswatch.ingest import make_fetcher

    async def download_all() -> list[int]:
        async with make_fetcher(settings) as fetcher:
            responses = await asyncio.gather(*(fetcher.fetch(url) for url in urls))
        return [len(r.body) for r in responses]

    started, cpu = time.perf_counter(), time.process_time()
    sizes = asyncio.run(download_all())
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "load": os.getloadavg()[0],
        "feeds": len(urls),
        "bytes": sum(sizes),
    }


def _database_checks(db: Path, manifest: Result, base_url: str) -> Result:
    """Compare what newswatch stored with the corpus."""
    import sqlite3

    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = connection.execute(
            "SELECT a.id, a.entry_key, a.url, a.story_id, f.declared_url FROM articles a"
            " JOIN feeds f ON f.id = a.feed_id WHERE a.removed_at IS NULL"
        ).fetchall()
        stories = connection.execute("SELECT count(*) FROM stories").fetchone()[0]
        feeds = connection.execute(
            "SELECT declared_url, status, last_error, last_problem FROM feeds"
        ).fetchall()
    finally:
        connection.close()

    per_feed = Counter(row[4] for row in rows)
    short = []
    for info in manifest["feed_list"]:
        url = base_url + info["path"]
        if per_feed[url] < info["complete"]:
            short.append(f"{info['file']}: {per_feed[url]} of {info['complete']} entries")

    # Grouping: corpus story -> stored stories, and stored story -> corpus stories.
    by_corpus: defaultdict[int, set[int | None]] = defaultdict(set)
    by_stored: defaultdict[int, set[int]] = defaultdict(set)
    copies: Counter[int] = Counter()
    for _id, entry_key, url, story_id, _feed in rows:
        number = story_of(entry_key, url)
        if number is None:
            continue
        copies[number] += 1
        by_corpus[number].add(story_id)
        if story_id is not None:
            by_stored[story_id].add(number)
    shared = [n for n, c in copies.items() if c > 1]
    grouped = sum(1 for n in shared if len(by_corpus[n]) == 1 and None not in by_corpus[n])
    merged = sum(1 for numbers in by_stored.values() if len(numbers) > 1)
    return {
        "articles": len(rows),
        "stories": stories,
        "unclustered": sum(1 for row in rows if row[3] is None),
        "corpus_stories": len(copies),
        "shared_stories": len(shared),
        "shared_grouped": grouped,
        "false_merges": merged,
        "short_feeds": short,
        "status": dict(Counter(f[1] for f in feeds)),
        "problems": sum(1 for f in feeds if f[3]),
        "errors": sorted({f[2] for f in feeds if f[2]})[:10],
    }


def run_newswatch(args: argparse.Namespace) -> Result:
    """One run: the cold, warm and changed passes on a fresh database, then the transport floor."""
    import cProfile

    import newswatch
    from newswatch.app import make_monitor
    from newswatch.config import load_config

    corpus, live, work = Path(args.corpus), Path(args.live), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    manifest = load_manifest(corpus)
    urls = [args.base_url + info["path"] for info in manifest["feed_list"]]
    config = load_config(
        _write_config(work, urls, args.concurrency, args.workers, not args.no_topics)
    )

    result: Result = {"tool": "newswatch", "version": newswatch.__version__, "passes": {}}
    result["rss_before_mb"] = peak_rss_mb()

    probe = _Probe()
    _instrument(probe)

    started = time.perf_counter()
    monitor = make_monitor(config)
    result["setup_seconds"] = time.perf_counter() - started
    result["rss_setup_mb"] = peak_rss_mb()
    profiles: dict[str, dict[str, str]] = {}
    tree = ProcessTree()
    with monitor:
        for name in PASSES:
            if name == "changed":
                apply_changes(corpus, live)
            main_profile = cProfile.Profile() if args.profile else None
            store_profile = cProfile.Profile() if args.profile else None
            probe.reset(store_profile)
            if main_profile is not None:
                main_profile.enable()
            tree.start_pass()
            started, cpu = time.perf_counter(), time.process_time()
            summary = monitor.fetch(everything=True)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            cpu -= tree.own_cpu
            workers_cpu = tree.children_cpu()
            if main_profile is not None and store_profile is not None:
                main_profile.disable()
                profiles[name] = {"main": str(work / f"{name}-main.prof")}
                profiles[name]["store"] = str(work / f"{name}-store.prof")
                main_profile.dump_stats(profiles[name]["main"])
                store_profile.dump_stats(profiles[name]["store"])
            outcomes = Counter(r.outcome for r in summary.results)
            result["passes"][name] = {
                "seconds": seconds,
                "cpu_seconds": cpu + workers_cpu,
                "workers_cpu_seconds": workers_cpu,
                "peak_rss_all_mb": tree.peak_rss_mb,
                "peak_pss_all_mb": tree.peak_pss_mb,
                "load": os.getloadavg()[0],
                "feeds": summary.feeds,
                "fetched": summary.fetched,
                "not_modified": summary.not_modified,
                "failed": summary.failed,
                "new": summary.new_articles,
                "updated": summary.updated_articles,
                "entries": summary.new_articles + summary.updated_articles,
                "outcomes": dict(outcomes),
                "failures": [f"{r.url}: {r.error}" for r in summary.results if r.error][:10],
                "store_seconds": probe.process,
                "store_calls": probe.feeds,
                "cluster_seconds": probe.cluster,
                "tag_seconds": probe.tag,
                "rss_mb": peak_rss_mb(),
                "db": _database_checks(work / "newswatch.db", manifest, args.base_url),
            }
    tree.close()
    if profiles:
        result["profiles"] = profiles
    result["peak_rss_mb"] = peak_rss_mb()
    if not args.profile:
        # Last, so that its buffers (every body at once) do not count in the passes' peak RSS.
        result["passes"]["transport"] = _transport_pass(config.fetch, urls)
    return result


# --------------------------------------------------------------------------------------------
# reader worker (runs in its own process, possibly under another interpreter)
# --------------------------------------------------------------------------------------------


def run_reader(args: argparse.Namespace) -> Result:
    """One run of lemon24/reader: cold, warm and changed passes on a fresh database."""
    import reader as reader_module

    corpus, live, work = Path(args.corpus), Path(args.live), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    manifest = load_manifest(corpus)
    urls = [args.base_url + info["path"] for info in manifest["feed_list"]]
    result: Result = {"tool": "reader", "version": reader_module.__version__, "passes": {}}
    result["rss_before_mb"] = peak_rss_mb()
    started = time.perf_counter()
    reader = reader_module.make_reader(str(work / "reader.sqlite"))
    for url in urls:
        reader.add_feed(url)
    result["setup_seconds"] = time.perf_counter() - started
    result["rss_setup_mb"] = peak_rss_mb()
    tree = ProcessTree()
    try:
        for name in PASSES:
            if name == "changed":
                apply_changes(corpus, live)
            counts: Counter[str] = Counter()
            failures: list[str] = []
            tree.start_pass()
            started, cpu = time.perf_counter(), time.process_time()
            for update in reader.update_feeds_iter(scheduled=False, workers=args.concurrency):
                value = update.value
                if value is None:
                    counts["not_modified"] += 1
                elif isinstance(value, Exception):
                    counts["failed"] += 1
                    failures.append(f"{update.url}: {value}")
                else:
                    counts["fetched"] += 1
                    counts["new"] += value.new
                    counts["updated"] += value.modified
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            cpu -= tree.own_cpu
            result["passes"][name] = {
                "seconds": seconds,
                "cpu_seconds": cpu + tree.children_cpu(),
                "peak_rss_all_mb": tree.peak_rss_mb,
                "peak_pss_all_mb": tree.peak_pss_mb,
                "load": os.getloadavg()[0],
                "feeds": sum(counts[k] for k in ("not_modified", "failed", "fetched")),
                "fetched": counts["fetched"],
                "not_modified": counts["not_modified"],
                "failed": counts["failed"],
                "new": counts["new"],
                "updated": counts["updated"],
                "entries": counts["new"] + counts["updated"],
                "failures": failures[:10],
                "stored": reader.get_entry_counts().total,
                "rss_mb": peak_rss_mb(),
            }
    finally:
        reader.close()
        tree.close()
    result["peak_rss_mb"] = peak_rss_mb()
    return result


# --------------------------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------------------------


def source_state() -> str:
    """Which newswatch is measured: the commit, and whether src/ differs from it."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "-C", str(ROOT), "diff", "--quiet", "HEAD", "--", "src"], check=False
        ).returncode
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {commit}" + (" with uncommitted changes in src/" if changed else "")


def find_reader_python(choice: str | None) -> str | None:
    """The interpreter that can ``import reader``, or None to skip the comparison."""
    if choice == "none":
        return None
    if choice:
        return choice
    if importlib.util.find_spec("reader") is not None:
        return sys.executable
    return os.environ.get("BENCH_READER_PYTHON") or None


def spawn_worker(
    python: str,
    tool: str,
    *,
    base_url: str,
    corpus: Path,
    live: Path,
    work: Path,
    concurrency: int,
    profile: bool = False,
    options: Sequence[str] = (),
) -> Result:
    """Run one worker process and return the JSON it prints last."""
    command = [
        python,
        str(Path(__file__).resolve()),
        "--worker",
        tool,
        "--base-url",
        base_url,
        "--corpus",
        str(corpus),
        "--live",
        str(live),
        "--work",
        str(work),
        "--concurrency",
        str(concurrency),
    ]
    if profile:
        command.append("--profile")
    command.extend(options)
    env = {k: v for k, v in os.environ.items() if k not in NEWSWATCH_ENV}
    work.mkdir(parents=True, exist_ok=True)
    with (work / "stderr.log").open("w", encoding="utf-8") as stderr:
        done = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env, check=False
        )
    log = (work / "stderr.log").read_text(encoding="utf-8", errors="replace")
    if done.returncode != 0:
        raise RuntimeError(f"{tool} worker failed (exit {done.returncode}):\n{log[-3000:]}")
    result: Result = json.loads(done.stdout.strip().splitlines()[-1])
    result["stderr_lines"] = log.splitlines()
    return result


@contextmanager
def workspace(keep: Path | None) -> Iterator[Path]:
    """A scratch folder for the corpus and databases, removed afterwards unless kept."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    folder = Path(tempfile.mkdtemp(prefix="newswatch-bench-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}" if count and seconds > 0 else "-"


def print_table(tool: str, runs: Sequence[Result]) -> dict[str, tuple[float, float]]:
    """Print one tool's table of passes; return the median (wall, CPU) seconds per pass."""
    names = [n for n in ("transport", *PASSES) if n in runs[0]["passes"]]
    version = runs[0].get("version", "?")
    print(f"\n{tool} {version}: median of {len(runs)} run(s), each on a fresh database")
    header = (
        f"{'pass':<10}{'feeds':>6}{'200':>5}{'304':>5}{'failed':>7}{'entries':>8}"
        f"{'seconds':>9}{'entries/s':>10}{'feeds/s':>8}{'CPU s':>8}{'entries/CPU s':>14}"
        f"{'min-max s':>14}{'load':>6}"
    )
    print(header)
    print("-" * len(header))
    medians: dict[str, tuple[float, float]] = {}
    for name in names:
        passes = [run["passes"][name] for run in runs]
        seconds = [p["seconds"] for p in passes]
        wall, cpu = median(seconds), median([p.get("cpu_seconds", 0.0) for p in passes])
        medians[name] = (wall, cpu)
        entries = median([p.get("entries", 0) for p in passes])
        feeds = passes[0]["feeds"]
        if name == "transport":
            fetched, not_modified, failed = feeds, 0, 0
        else:
            fetched = passes[0]["fetched"]
            not_modified = passes[0]["not_modified"]
            failed = passes[0]["failed"]
        spread = f"{min(seconds):.2f}-{max(seconds):.2f}"
        load = median([p.get("load", float("nan")) for p in passes])
        print(
            f"{name:<10}{feeds:>6}{fetched:>5}{not_modified:>5}{failed:>7}{entries:>8,.0f}"
            f"{wall:>9.2f}{_rate(entries, wall):>10}{_rate(feeds, wall):>8}"
            f"{cpu:>8.2f}{_rate(entries, cpu):>14}{spread:>14}{load:>6.1f}"
        )
    peak = median([run["peak_rss_mb"] for run in runs])
    setup = median([run["rss_setup_mb"] for run in runs])
    print(
        f"peak RSS {peak:,.0f} MiB (after imports and setup: {setup:,.0f} MiB); setup"
        f" (schema, {runs[0]['passes']['cold']['feeds']} feeds) "
        f"{median([run['setup_seconds'] for run in runs]):.2f} s"
    )
    cold = [run["passes"]["cold"] for run in runs]
    if "peak_rss_all_mb" in cold[0]:
        workers = median([p.get("workers_cpu_seconds", 0.0) for p in cold])
        print(
            f"  cold pass, this process and its worker processes at once: peak RSS"
            f" {median([p['peak_rss_all_mb'] for p in cold]):,.0f} MiB, peak PSS"
            f" {median([p['peak_pss_all_mb'] for p in cold]):,.0f} MiB;"
            f" CPU s above includes {workers:.2f} s in worker processes"
        )
    if "store_seconds" in runs[0]["passes"]["cold"]:
        for name in PASSES:
            passes = [run["passes"][name] for run in runs]
            store = median([p["store_seconds"] for p in passes])
            cluster = median([p["cluster_seconds"] for p in passes])
            tag = median([p.get("tag_seconds", 0.0) for p in passes])
            print(
                f"  {name:<8} storage thread busy {store:6.2f} s"
                f" ({100 * store / max(medians[name][0], 1e-9):3.0f} % of the pass),"
                f" clustering {cluster:5.2f} s, tagging {tag:5.2f} s"
            )
    return medians


def print_checks(manifest: Result, runs: Sequence[Result]) -> None:
    """What the stored data says about newswatch's behaviour on the corpus."""
    first = runs[0]
    cold = first["passes"]["cold"]
    expected = sum(info["complete"] for info in manifest["feed_list"])
    changed_expected = sum(c["new_entries"] for c in manifest["changed"])
    print("\nchecks (first run):")
    print(
        f"  cold: {cold['new']:,} new articles for {expected:,} complete entries in the corpus"
        f" ({manifest['entries']:,} generated; truncated feeds lose some)"
    )
    for name in PASSES:
        current = first["passes"].get(name)
        if current is None:
            continue
        db = current["db"]
        print(
            f"  after {name}: {db['articles']:,} articles, {db['stories']:,} stories,"
            f" {db['unclustered']:,} articles without a story; feed status {db['status']};"
            f" {db['problems']} feeds with a recorded problem; syndicated stories grouped"
            f" {db['shared_grouped']} of {db['shared_stories']}, {db['false_merges']} stored"
            f" stories mixing different corpus stories"
        )
        if current["failures"]:
            print(f"    {current['failed']} failed: " + "; ".join(current["failures"][:5]))
        if db["short_feeds"]:
            print(f"    {len(db['short_feeds'])} feeds short: " + "; ".join(db["short_feeds"][:5]))
    changed = first["passes"].get("changed")
    if changed is not None:
        print(
            f"  changed: {changed['new']} new and {changed['updated']} updated articles;"
            f" {changed_expected} new entries were written into"
            f" {len(manifest['changed'])} feeds"
        )
    noise = [line for run in runs for line in run.get("stderr_lines", [])]
    if noise:
        print(f"  stderr: {len(noise)} lines, e.g. {noise[0][:200]!r}")


def print_reader_checks(runs: Sequence[Result]) -> None:
    first = runs[0]
    parts = [
        f"{name}: {p['new']} new, {p['updated']} updated, {p['failed']} failed,"
        f" {p['stored']} stored"
        for name, p in first["passes"].items()
    ]
    print("  reader (first run): " + "; ".join(parts))
    for name, p in first["passes"].items():
        if p["failures"]:
            print(f"    {name} failures: " + "; ".join(p["failures"][:5]))


#: Where a thread waits rather than works: left out of the "own time" lists.
IDLE = ("<method 'poll' of 'select.epoll' objects>", "<method 'acquire' of '_thread.lock' objects>")


def _newswatch_rows(path: str) -> list[tuple[float, float, int, str]]:
    """(cumulative, own, calls, name) of every newswatch function in a profile."""
    import pstats

    marker = f"{os.sep}newswatch{os.sep}"
    rows = []
    table: dict[Any, Any] = pstats.Stats(path).stats  # type: ignore[attr-defined]
    for (file, line, function), (_cc, calls, tottime, cumtime, _callers) in table.items():
        if marker in file:
            short = file.rsplit(marker, 1)[1]
            rows.append((cumtime, tottime, calls, f"{short}:{line}({function})"))
    return sorted(rows, reverse=True)


def _own_rows(paths: Sequence[str]) -> list[tuple[float, int, str]]:
    """(own time, calls, name) of every function of the merged profiles, idle waits left out."""
    import pstats

    merged = pstats.Stats(paths[0])
    for path in paths[1:]:
        merged.add(path)
    rows = []
    table: dict[Any, Any] = merged.stats  # type: ignore[attr-defined]
    for (file, line, function), (_cc, calls, tottime, _cum, _callers) in table.items():
        if function not in IDLE:
            rows.append((tottime, calls, f"{_short_path(file)}:{line}({function})"))
    return sorted(rows, reverse=True)


def print_profile(result: Result, top: int = 10) -> None:
    """The hotspots of the profiled passes: the cold one in detail, the others briefly."""
    profiles = result["profiles"]
    print("\nprofiled run (cProfile slows Python code down: compare shares, not seconds)")
    for name, paths in profiles.items():
        seconds = result["passes"][name]["seconds"]
        count = top if name == "cold" else 5
        threads = (
            ("event-loop thread (HTTP, then clustering and tagging)", paths["main"]),
            ("storage thread (parse, normalise, store)", paths["store"]),
        )
        print(f"\n{name} pass under cProfile: {seconds:.1f} s")
        for label, path in threads:
            print(f"  {label}: top {count} by cumulative time in newswatch code")
            print(f"  {'cumulative':>10} {'own':>8} {'calls':>8}  function")
            for cumtime, tottime, calls, function in _newswatch_rows(path)[:count]:
                print(f"  {cumtime:>10.2f} {tottime:>8.2f} {calls:>8}  {function}")
        print(f"  both threads: top {count} by own time, any code, idle waits left out")
        print(f"  {'own':>8} {'calls':>9}  function")
        for tottime, calls, function in _own_rows([paths["main"], paths["store"]])[:count]:
            print(f"  {tottime:>8.2f} {calls:>9}  {function}")


def _short_path(file: str) -> str:
    for marker in ("site-packages/", "/src/", "lib/python3"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


def orchestrate(args: argparse.Namespace) -> None:
    reader_python = find_reader_python(args.reader_python)
    with workspace(args.keep) as scratch:
        corpus, live = scratch / "corpus", scratch / "live"
        started = time.perf_counter()
        manifest = write_corpus(corpus, args.feeds, args.seed)
        restore(corpus, live)
        print(
            f"corpus: {manifest['feeds']} feeds ({manifest['rss']} RSS, {manifest['atom']} Atom,"
            f" {manifest['full_content']} with full text, malformed {manifest['malformed']}),"
            f" {manifest['entries']:,} entries ({manifest['entries_min']}-"
            f"{manifest['entries_max']} per feed), {manifest['bytes'] / 1e6:.1f} MB;"
            f" {manifest['shared_stories']} of {manifest['stories']:,} stories in several feeds"
            f" ({manifest['shared_copies']} copies); seed {args.seed};"
            f" built in {time.perf_counter() - started:.1f} s"
        )
        print(
            f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]};"
            f" {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; newswatch {source_state()}"
        )
        if reader_python is None:
            print("reader: not importable; comparison skipped (see --reader-python)")
        results: dict[str, list[Result]] = {"newswatch": [], "reader": []}
        tools = ["newswatch"] + (["reader"] if reader_python else [])
        with ServerProcess(live, gzip=not args.no_gzip) as server:
            states = {source_state()}
            for run in range(args.runs):
                for tool in tools:
                    states.add(source_state())
                    restore(corpus, live)
                    python = sys.executable if tool == "newswatch" else str(reader_python)
                    result = spawn_worker(
                        python,
                        tool,
                        base_url=server.url,
                        corpus=corpus,
                        live=live,
                        work=scratch / f"{tool}-run{run + 1}",
                        concurrency=args.concurrency,
                        options=newswatch_options(args) if tool == "newswatch" else (),
                    )
                    results[tool].append(result)
                    cold = result["passes"]["cold"]
                    print(
                        f"  run {run + 1} {tool}: cold {cold['seconds']:.2f} s,"
                        f" warm {result['passes']['warm']['seconds']:.2f} s,"
                        f" changed {result['passes']['changed']['seconds']:.2f} s",
                        flush=True,
                    )
            profiled = None
            if args.profile:
                restore(corpus, live)
                profiled = spawn_worker(
                    sys.executable,
                    "newswatch",
                    base_url=server.url,
                    corpus=corpus,
                    live=live,
                    work=scratch / "newswatch-profile",
                    concurrency=args.concurrency,
                    profile=True,
                    options=newswatch_options(args),
                )
        if len(states) > 1:
            print(f"warning: newswatch's source changed during the benchmark: {sorted(states)}")
        nw = print_table("newswatch", results["newswatch"])
        print_checks(manifest, results["newswatch"])
        if results["reader"]:
            rd = print_table("reader", results["reader"])
            print_reader_checks(results["reader"])
            print("\nnewswatch / reader (above 1 means newswatch takes longer)")
            for name in PASSES:
                print(
                    f"  {name:<8} wall {nw[name][0] / rd[name][0]:5.2f}x"
                    f"   CPU {nw[name][1] / rd[name][1]:5.2f}x"
                )
        if profiled is not None:
            print_profile(profiled)
        if server.stats.get("errors"):
            print(f"\nfeed server errors: {server.stats['errors']}")
        if args.keep:
            print(f"\nfiles kept in {scratch}")


def newswatch_options(args: argparse.Namespace) -> list[str]:
    """The options a newswatch run passes on to its worker process."""
    options = [] if args.workers is None else ["--workers", str(args.workers)]
    return [*options, "--no-topics"] if args.no_topics else options


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Ingest benchmark: newswatch (and reader, when installed) on a local corpus."
    )
    parser.add_argument("--feeds", type=int, default=200, help="feeds in the corpus (200)")
    parser.add_argument("--runs", type=int, default=3, help="runs to take the median of (3)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (1)")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="parallel fetches, and per host (16)"
    )
    parser.add_argument("--profile", action="store_true", help="profile one more cold pass")
    parser.add_argument(
        "--reader-python",
        help="an interpreter that can import reader; 'none' to skip"
        " (default: this one if it can, else $BENCH_READER_PYTHON)",
    )
    parser.add_argument("--no-gzip", action="store_true", help="serve feeds uncompressed")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument(
        "--workers", type=int, help="newswatch's fetch.workers (default: its own default)"
    )
    parser.add_argument(
        "--no-topics", action="store_true", help="newswatch without topics: no tagging"
    )
    # Internal: one measured run in a fresh process.
    parser.add_argument("--worker", choices=("newswatch", "reader"), help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--live", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker is None:
        orchestrate(args)
        return
    workers: dict[str, Callable[[argparse.Namespace], Result]] = {
        "newswatch": run_newswatch,
        "reader": run_reader,
    }
    print(json.dumps(workers[args.worker](args)), flush=True)


if __name__ == "__main__":
    main()
