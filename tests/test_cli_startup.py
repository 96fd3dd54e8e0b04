"""Start-up: the everyday read-only commands load only the libraries they use.

Every command pays for its imports before it does anything. Fetching (feedparser, lxml, httpx),
digest rendering (Jinja2), the daemon's scheduler, full-text extraction (readability), stemming
and topic suggestions wait for the commands that need them, and migrations for a database that
needs one. Each case runs the real entry point
in a fresh interpreter, on a database that holds tagged articles, and looks at ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import newswatch
from builders import BRIEFING_NEWS, rss_document
from feedserver import FeedServer
from newswatch.cli import cli
from newswatch.prepare import POOL_MIN_FEEDS

REPO = Path(__file__).resolve().parent.parent
TOPICS_FILE = REPO / "config" / "topics.yaml"

#: Modules (and their submodules) that none of the commands below may import. APScheduler's
#: cron trigger is not among them: validating the config's cron expressions needs it. Alembic
#: is: a database already at the newest schema is opened without it.
HEAVY = (
    "alembic",
    "jinja2",
    "feedparser",
    "lxml",
    "h11",
    "httpx",
    "apscheduler.schedulers",
    "readability",
    "bs4",
    "Stemmer",
    "newswatch.tagging.suggest",
)

#: Runs ``newswatch ARGS…`` through the console script's function, then writes the names of
#: the loaded modules to the file named first.
CHILD = """\
import json, sys
from newswatch.cli import main
modules_file, sys.argv[1:] = sys.argv[1], sys.argv[2:]
try:
    main()
finally:
    with open(modules_file, "w", encoding="utf-8") as out:
        json.dump(sorted(sys.modules), out)
"""


@pytest.fixture(scope="module")
def briefed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config with a digest channel, over a database holding the briefing's tagged articles."""
    folder = tmp_path_factory.mktemp("startup")
    config = folder / "newswatch.yaml"
    items = [
        (f"brief-{key}", title, f"https://briefing.example/{key}", body)
        for key, (title, body) in BRIEFING_NEWS.items()
    ]
    with FeedServer() as server:
        url = server.route(
            "/briefing.xml",
            body=rss_document(items, title="Briefing Wire"),
            headers={"Content-Type": "application/rss+xml"},
        )
        settings = {
            "database": {"url": f"sqlite:///{folder / 'newswatch.db'}"},
            "feeds": [{"url": url, "name": "Briefing"}],
            "topics_file": str(TOPICS_FILE),
            "digests": {"daily": {"markdown": {"dir": str(folder / "digests")}}},
        }
        config.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
        unset = {"NEWSWATCH_CONFIG": None, "NEWSWATCH_DATABASE_URL": None}
        result = CliRunner().invoke(cli, ["--config", str(config), "fetch"], env=unset)
    assert not server.errors
    assert result.exit_code == 0, result.output
    return config


def _run_child(config: Path, tmp_path: Path, *args: str) -> tuple[str, list[str]]:
    """Run ``newswatch --config CONFIG ARGS…`` in a fresh interpreter: its output, and the
    modules it had loaded at the end."""
    modules_file = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    # The interpreter imports the newswatch under test, wherever it was imported from here.
    source = str(Path(newswatch.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(modules_file), "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(modules_file.read_text(encoding="utf-8"))
    return result.stdout, loaded


def _loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return [n for n in names if any(m == n or m.startswith(n + ".") for m in modules)]


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        pytest.param(["status"], f"articles: {len(BRIEFING_NEWS)}", id="status"),
        pytest.param(["feeds", "list"], "Briefing", id="feeds-list"),
        pytest.param(["articles", "list"], "Local bakery wins bread award", id="articles-list"),
        pytest.param(["search", '"security guarantees"'], "1. ", id="search"),
        pytest.param(["topics", "list"], "security-guarantees", id="topics-list"),
    ],
)
def test_read_only_commands_leave_heavy_libraries_unloaded(
    briefed: Path, tmp_path: Path, args: list[str], shown: str
) -> None:
    output, loaded = _run_child(briefed, tmp_path, *args)
    assert shown in output
    heavy = _loaded(loaded, HEAVY)
    assert not heavy, f"newswatch {' '.join(args)} imported {', '.join(heavy)}"


def test_a_pass_with_worker_processes_leaves_parsing_and_tagging_to_them(
    tmp_path: Path,
) -> None:
    # The main process downloads and clusters; the workers (and the fork server they come
    # from) parse, normalise and tag. The main process has no use for those libraries.
    items = [
        (f"brief-{key}", title, f"https://briefing.example/{key}", body)
        for key, (title, body) in BRIEFING_NEWS.items()
    ]
    with FeedServer() as server:
        feeds = [
            {
                "url": server.route(
                    f"/outlet{n}.xml",
                    body=rss_document(
                        [
                            (f"{n}-{guid}", title, f"{link}?o={n}", body)
                            for guid, title, link, body in items
                        ],
                        title=f"Outlet {n}",
                    ),
                    headers={"Content-Type": "application/rss+xml"},
                ),
                "name": f"Outlet {n}",
            }
            for n in range(POOL_MIN_FEEDS)
        ]
        settings = {
            "database": {"url": f"sqlite:///{tmp_path / 'newswatch.db'}"},
            "fetch": {"workers": 1},
            "feeds": feeds,
            "topics_file": str(TOPICS_FILE),
        }
        config = tmp_path / "newswatch.yaml"
        config.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")

        output, loaded = _run_child(config, tmp_path, "fetch")

    assert not server.errors
    assert f"{POOL_MIN_FEEDS * len(items)} new articles" in output
    preparing = _loaded(
        loaded,
        (
            "feedparser",
            "readability",
            "Stemmer",
            "newswatch.fetching.parse",
            "newswatch.normalize",
            "newswatch.tagging.matcher",
        ),
    )
    assert not preparing, f"the main process of the pass imported {', '.join(preparing)}"
