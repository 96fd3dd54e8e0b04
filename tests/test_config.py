"""Loading the config: defaults, path resolution, overrides, and one-line errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from newswatch.config import load_config
from newswatch.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
WriteConfig = Callable[..., Path]

MINIMAL = {
    "feeds": [{"url": "https://example.org/rss.xml", "name": "Example", "interval": "15m"}],
    "topics": [{"slug": "peace-talks", "name": "Peace talks", "query": "ceasefire"}],
    "digests": {"daily": {"markdown": {"dir": "../digests"}}},
}


def error_of(path: Path, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path, **kwargs)  # type: ignore[arg-type]
    return str(caught.value)


def test_bundled_config_is_valid() -> None:
    config = load_config(REPO / "config" / "newswatch.yaml", environ={})
    assert len(config.feeds) >= 10
    assert {t.slug for t in config.topics} == {
        "security-guarantees",
        "donbas-territory",
        "frozen-assets",
        "peace-talks",
        "nato-membership",
        "us-ukraine-relations",
    }
    assert config.database.url == f"sqlite:///{REPO / 'data' / 'newswatch.db'}"
    assert config.digests["daily"].markdown is not None
    assert config.digests["daily"].markdown.dir == REPO / "digests"


def test_values_and_relative_paths(write_config: WriteConfig, tmp_path: Path) -> None:
    config = load_config(write_config(MINIMAL), environ={})
    assert config.feeds[0].interval == timedelta(minutes=15)
    assert config.fetch.max_bytes == 10_000_000
    assert config.fetch.timeout == timedelta(seconds=20)
    # Relative paths resolve against the config file's folder, not the working directory.
    assert config.database.url == f"sqlite:///{tmp_path / 'data' / 'newswatch.db'}"
    markdown = config.digests["daily"].markdown
    assert markdown is not None
    assert markdown.dir == tmp_path.parent / "digests"


def test_database_url_from_environment_wins(write_config: WriteConfig) -> None:
    path = write_config(MINIMAL)
    config = load_config(path, environ={"NEWSWATCH_DATABASE_URL": "postgresql://u@db/news"})
    # psycopg 3 is the driver newswatch ships, so a bare postgresql:// gets it.
    assert config.database.url == "postgresql+psycopg://u@db/news"


def test_topics_file_is_read(write_config: WriteConfig, tmp_path: Path) -> None:
    (tmp_path / "topics.yaml").write_text(
        "topics:\n  - {slug: frozen-assets, name: Frozen assets, query: Euroclear}\n"
    )
    config = load_config(write_config({"topics_file": "topics.yaml"}), environ={})
    assert [t.slug for t in config.topics] == ["frozen-assets"]
    assert config.topics_path == tmp_path / "topics.yaml"


def test_opml_feeds_are_imported(write_config: WriteConfig, tmp_path: Path) -> None:
    (tmp_path / "feeds.opml").write_text(
        """<?xml version="1.0"?>
<opml version="2.0"><head><title>x</title></head><body>
  <outline text="News">
    <outline text="One" xmlUrl="https://one.example/feed"/>
    <outline text="Dup of explicit" xmlUrl="https://example.org/rss.xml"/>
  </outline>
  <outline text="Not http" xmlUrl="file:///etc/passwd"/>
</body></opml>"""
    )
    data = {"feeds": [*MINIMAL["feeds"], {"opml": "feeds.opml", "interval": "1h"}]}
    config = load_config(write_config(data), environ={})
    assert [(f.url, f.name) for f in config.feeds] == [
        ("https://example.org/rss.xml", "Example"),
        ("https://one.example/feed", "One"),
    ]
    assert config.feeds[1].interval == timedelta(hours=1)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # A misspelt key is named, with the likely intended one.
        (
            {"fetch": {"concurency": 4}},
            "fetch.concurency: unknown key (did you mean 'concurrency'?)",
        ),
        (
            {"feeds": [{"url": "https://a.example/", "intervall": "5m"}]},
            "feeds[0].intervall: unknown key (did you mean 'interval'?)",
        ),
        ({"databse": {"url": "sqlite://"}}, "databse: unknown key (did you mean 'database'?)"),
        ({"fetch": {"timeout": "soon"}}, "fetch.timeout: 'soon' is not a duration"),
        ({"fetch": {"timeout": 20}}, "fetch.timeout: expected a duration"),
        ({"fetch": {"max_bytes": "lots"}}, "fetch.max_bytes: 'lots' is not a size"),
        ({"fetch": {"concurrency": "many"}}, "fetch.concurrency: Input should be a valid integer"),
        (
            {"fetch": {"concurrency": 0}},
            "fetch.concurrency: Input should be greater than or equal to 1",
        ),
        (
            {"feeds": [{"url": "ftp://example.org/feed"}]},
            "feeds[0].url: 'ftp://example.org/feed' is not an http(s) URL",
        ),
        ({"feeds": [{"name": "no url"}]}, "feeds[0]: give either 'url' (a feed) or 'opml'"),
        (
            {"feeds": [{"url": "https://a.example/"}, {"url": "https://a.example/"}]},
            "feeds[1].url: https://a.example/ is listed twice",
        ),
        ({"feeds": [{"opml": "missing.opml"}]}, "feeds[0].opml: "),
        ({"database": {"url": "mysql://db/news"}}, "database.url: unsupported database 'mysql'"),
        ({"database": {"url": "not a url"}}, "database.url: 'not a url' is not a database URL"),
        (
            {"digests": {"daily": {"schedule": "7am", "markdown": {"dir": "d"}}}},
            "digests.daily: schedule '7am' is not a valid cron expression",
        ),
        (
            {"digests": {"daily": {"timezone": "Mars/Olympus", "markdown": {"dir": "d"}}}},
            "digests.daily.timezone: unknown time zone 'Mars/Olympus'",
        ),
        (
            {"digests": {"daily": {"schedule": "0 7 * * *"}}},
            "digests.daily: a digest needs a delivery",
        ),
        (
            {
                "digests": {"daily": {"topics": ["peace-talk"], "markdown": {"dir": "d"}}},
                "topics": MINIMAL["topics"],
            },
            "digests.daily.topics[0]: unknown topic 'peace-talk' (did you mean 'peace-talks'?)",
        ),
        (
            {
                "digests": {
                    "d": {
                        "markdown": {"dir": "d"},
                        "email": {
                            "to": ["a@example.org"],
                            "from": "b@example.org",
                            "smtp": {"host": "mail", "password": "hunter2"},
                        },
                    }
                }
            },
            "digests.d.email.smtp: passwords are never read from the config file",
        ),
        (
            {"digests": {"d": {"email": {"to": ["not-an-address"], "from": "b@example.org"}}}},
            "digests.d.email.to[0]: 'not-an-address' is not an email address",
        ),
        (
            {"digests": {"d": {"email": {"to": ["a@example.org"]}}}},
            "digests.d.email.from: required key is missing",
        ),
        (
            {"topics": [{"slug": "Bad Slug", "name": "x", "query": "x"}]},
            "topics[0].slug: 'Bad Slug' is not a slug",
        ),
        ({"topics": [{"slug": "a", "name": "x"}]}, "topics[0].query: required key is missing"),
        ({"topics_file": "t.yaml", "topics": []}, "give either 'topics_file' or inline 'topics'"),
        ({"topics_file": "nope.yaml"}, "nope.yaml: topics file not found"),
        ("- just\n- a list\n", "the config must be a mapping of keys, not a list"),
    ],
)
def test_bad_config_is_one_line_naming_the_key(
    write_config: WriteConfig, tmp_path: Path, content: object, expected: str
) -> None:
    path = write_config(content)
    message = error_of(path, environ={})
    assert expected in message
    assert "\n" not in message
    assert str(tmp_path) in message  # names the file


def test_several_problems_are_all_reported(write_config: WriteConfig) -> None:
    path = write_config({"fetch": {"timeout": "x", "per_host": -1}, "feeds": "none"})
    lines = error_of(path, environ={}).splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"{path}: ") for line in lines)


def test_yaml_syntax_error_gives_line_and_column(write_config: WriteConfig) -> None:
    path = write_config("fetch:\n  timeout: 20s\n  concurrency: [1, 2\n")
    message = error_of(path, environ={})
    assert message.startswith(f"{path}:4:1: YAML syntax error")


def test_duplicate_keys_are_refused(write_config: WriteConfig) -> None:
    path = write_config("fetch:\n  timeout: 20s\n  timeout: 30s\n")
    assert error_of(path, environ={}) == f"{path}:3:3: YAML syntax error: duplicate key 'timeout'"


def test_a_list_as_a_key_is_a_syntax_error_not_a_crash(write_config: WriteConfig) -> None:
    path = write_config("fetch:\n  ? [timeout, retries]\n  : 20s\n")
    assert error_of(path, environ={}) == (
        f"{path}:2:5: YAML syntax error: a list or mapping cannot be a key"
    )


def test_missing_config_suggests_init(tmp_path: Path) -> None:
    message = error_of(tmp_path / "nope.yaml", environ={})
    assert "config file not found" in message
    assert "newswatch init" in message


def test_bad_database_url_in_environment(write_config: WriteConfig) -> None:
    path = write_config(MINIMAL)
    message = error_of(path, environ={"NEWSWATCH_DATABASE_URL": "oracle://x/y"})
    assert (
        message
        == "$NEWSWATCH_DATABASE_URL: unsupported database 'oracle': use sqlite or postgresql"
    )


def test_smtp_password_comes_from_environment(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = {
        "to": ["a@example.org"],
        "from": "b@example.org",
        "smtp": {"security": "ssl", "password_env": "NW_TEST_SMTP_PASSWORD"},
    }
    config = load_config(write_config({"digests": {"d": {"email": email}}}), environ={})
    smtp = config.digests["d"].email.smtp  # type: ignore[union-attr]
    assert smtp.effective_port == 465
    monkeypatch.delenv("NW_TEST_SMTP_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match=r"NW_TEST_SMTP_PASSWORD .* is not set"):
        smtp.password()
    monkeypatch.setenv("NW_TEST_SMTP_PASSWORD", "s3cret")
    assert smtp.password() == "s3cret"


def test_subject_template_with_an_unknown_placeholder_is_refused(write_config: WriteConfig) -> None:
    email = {"to": ["a@example.org"], "from": "b@example.org", "subject": "{digest} {title}"}
    path = write_config({"digests": {"d": {"email": email}}})

    message = error_of(path, environ={})

    assert message.startswith(f"{path}: digests.d.email.subject: subject template")
    assert "{digest}, {count}, {stories}, {date}" in message


def test_digest_templates_folder_resolves_against_the_config(write_config: WriteConfig) -> None:
    path = write_config({"digests": {"d": {"markdown": {"dir": "out"}, "templates": "tpl"}}})
    assert error_of(path, environ={}).endswith(
        f"templates folder {path.parent / 'tpl'} does not exist"
    )
    (path.parent / "tpl").mkdir()

    digest = load_config(path, environ={}).digests["d"]

    assert digest.templates == path.parent / "tpl"
    assert digest.markdown is not None
    assert digest.markdown.dir == path.parent / "out"
