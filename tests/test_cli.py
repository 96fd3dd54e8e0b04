"""The command line as a user meets it: init, db upgrade, status, feeds list, and errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest
import yaml
from click.testing import Result

import newswatch
from newswatch.cli import cli
from newswatch.config import load_config

RunCli = Callable[..., Result]


def test_version(run_cli: RunCli) -> None:
    result = run_cli("--version")
    assert result.exit_code == 0
    assert newswatch.__version__ in result.output


def test_python_dash_m_runs_the_cli(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "newswatch", "--config", str(tmp_path / "missing.yaml"), "status"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "config file not found" in result.stderr


def test_new_user_flow(run_cli: RunCli, tmp_path: Path) -> None:
    folder = tmp_path / "nw"
    result = run_cli("init", str(folder))
    assert result.exit_code == 0, result.output
    config_path = folder / "newswatch.yaml"
    assert config_path.exists()
    assert (folder / "topics.yaml").exists()
    # The starter keeps its data inside the new folder.
    config = load_config(config_path, environ={})
    assert config.database.url == f"sqlite:///{folder / 'data' / 'newswatch.db'}"

    result = run_cli("--config", str(config_path), "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "upgraded empty -> " in result.output
    result = run_cli("--config", str(config_path), "db", "upgrade")
    assert "already at revision" in result.output

    result = run_cli("--config", str(config_path), "status", "--json")
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert len(status["feeds"]) == len(config.feeds)
    assert {f["status"] for f in status["feeds"]} == {"new"}
    assert [t["slug"] for t in status["topics"]] == sorted(t.slug for t in config.topics)
    assert status["digests"][0]["name"] == "daily"
    assert status["digests"][0]["next_run_at"].endswith("Z")

    result = run_cli("--config", str(config_path), "status")
    assert result.exit_code == 0
    assert f"feeds:    {len(config.feeds)} ({len(config.feeds)} new)" in result.output


def test_init_refuses_to_overwrite(run_cli: RunCli, tmp_path: Path) -> None:
    assert run_cli("init", str(tmp_path)).exit_code == 0
    (tmp_path / "newswatch.yaml").write_text("# mine\n")
    result = run_cli("init", str(tmp_path))
    assert result.exit_code == 2
    assert "already exists; use --force" in result.stderr
    assert (tmp_path / "newswatch.yaml").read_text() == "# mine\n"
    assert run_cli("init", "--force", str(tmp_path)).exit_code == 0
    assert (tmp_path / "newswatch.yaml").read_text() != "# mine\n"


def test_feeds_list_json(run_cli: RunCli, write_config: Callable[..., Path]) -> None:
    path = write_config(
        {
            "feeds": [
                {"url": "https://one.example/rss", "name": "One", "interval": "10m"},
                {"url": "https://two.example/atom"},
            ]
        }
    )
    result = run_cli("--config", str(path), "feeds", "list", "--json")
    assert result.exit_code == 0, result.output
    feeds = json.loads(result.output)
    assert [(f["url"], f["name"], f["status"], f["articles"]) for f in feeds] == [
        ("https://one.example/rss", "One", "new", 0),
        ("https://two.example/atom", "https://two.example/atom", "new", 0),
    ]
    for key in ("last_error", "last_fetched_at", "next_fetch_at"):
        assert key in feeds[0]
    assert feeds[0]["interval_seconds"] == 600

    text = run_cli("--config", str(path), "feeds", "list").output
    assert "https://two.example/atom" in text
    assert text.splitlines()[0].split() == ["status", "articles", "fetched", "next", "name", "url"]


def test_config_from_environment_variable(
    run_cli: RunCli, write_config: Callable[..., Path]
) -> None:
    path = write_config({"feeds": [{"url": "https://one.example/rss"}]})
    result = run_cli("feeds", "list", "--json", env={"NEWSWATCH_CONFIG": str(path)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["url"] == "https://one.example/rss"


def test_misspelt_key_exits_2_with_one_line(
    run_cli: RunCli, write_config: Callable[..., Path]
) -> None:
    path = write_config({"fetch": {"timout": "10s"}})
    result = run_cli("--config", str(path), "status")
    assert result.exit_code == 2
    assert result.stderr == (
        f"newswatch: error: {path}: fetch.timout: unknown key (did you mean 'timeout'?)\n"
    )
    assert result.stdout == ""
    # Nothing ran: no database was created.
    assert not (path.parent / "data").exists()


def test_invalid_yaml_exits_2(run_cli: RunCli, write_config: Callable[..., Path]) -> None:
    path = write_config("feeds:\n  - {url: https://a.example/\n")
    result = run_cli("--config", str(path), "feeds", "list")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"newswatch: error: {path}:3:1: YAML syntax error")


def test_unreachable_database_names_it_without_password(
    run_cli: RunCli, write_config: Callable[..., Path]
) -> None:
    path = write_config({})
    env = {"NEWSWATCH_DATABASE_URL": "postgresql://nw:hunter2@127.0.0.1:1/news"}
    result = run_cli("--config", str(path), "status", env=env)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "newswatch: error: cannot open database postgresql+psycopg://nw:***@127.0.0.1:1/news: "
    )
    assert "hunter2" not in result.stderr


def test_unwritable_sqlite_folder(run_cli: RunCli, write_config: Callable[..., Path]) -> None:
    blocker = write_config("", name="blocker")  # a file where the data folder should be
    path = write_config({"database": {"url": f"sqlite:///{blocker}/sub/newswatch.db"}})
    result = run_cli("--config", str(path), "status")
    assert result.exit_code == 1
    assert "cannot create the database folder" in result.stderr


def test_newer_database_is_refused(run_cli: RunCli, write_config: Callable[..., Path]) -> None:
    path = write_config({})
    assert run_cli("--config", str(path), "db", "upgrade").exit_code == 0
    import sqlite3

    database = path.parent / "data" / "newswatch.db"
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    result = run_cli("--config", str(path), "status")
    assert result.exit_code == 1
    assert "schema is at revision 9999" in result.stderr


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[str]:
    paths = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            paths += _command_paths(command, (*prefix, name))
        else:
            paths.append(" ".join(("newswatch", *prefix, name)))
    return paths


@pytest.mark.parametrize("command", _command_paths(cli))
def test_every_command_is_documented_in_the_readme(command: str) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert f"`{command}" in readme


def test_bundled_starter_matches_the_repository_config(tmp_path: Path, run_cli: RunCli) -> None:
    run_cli("init", str(tmp_path))
    repo_config = Path(__file__).resolve().parent.parent / "config"
    written = yaml.safe_load((tmp_path / "newswatch.yaml").read_text())
    bundled = yaml.safe_load((repo_config / "newswatch.yaml").read_text())
    assert written["feeds"] == bundled["feeds"]
    assert (tmp_path / "topics.yaml").read_text() == (repo_config / "topics.yaml").read_text()
