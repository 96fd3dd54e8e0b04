"""Topic tooling from the command line: list, match, eval, test, tag and retag."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import Result

from feedserver import FeedServer

RunCli = Callable[..., Result]
WriteConfig = Callable[..., Path]

TOPICS = [
    {
        "slug": "frozen-assets",
        "name": "Frozen assets",
        "query": 'Euroclear OR "reparations loan" OR "frozen Russian assets"',
        "threshold": 0.5,
        "exclude": "oligarch*",
    },
    {"slug": "peace-talks", "name": "Peace talks", "query": '"peace talks" OR ceasefire'},
]
ARTICLES = [
    {
        "id": "a",
        "title": "Euroclear faces pressure",
        "summary": "Belgium objects.",
        "labels": ["frozen-assets"],
    },
    {
        "id": 2,
        "title": "Ceasefire talks resume",
        "content": "Peace talks resumed in Geneva.",
        "labels": ["peace-talks"],
    },
    {
        "id": "c",
        "title": "Abramovich assets",
        "summary": "Oligarch assets at Euroclear were frozen.",
        "labels": [],
    },
    {
        "id": "d",
        "title": "Weather",
        "summary": "Frozen pipes in Kyiv.",
        "extra": 1,
        "labels": ["frozen-assets"],
    },
]


@pytest.fixture
def config(write_config: WriteConfig) -> Path:
    return write_config({"topics": TOPICS})


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    path = tmp_path / "articles.jsonl"
    lines = [json.dumps(a) for a in ARTICLES]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_match_writes_one_line_per_article_in_order(
    run_cli: RunCli, config: Path, articles: Path
) -> None:
    result = run_cli("--config", str(config), "topics", "match", str(articles))
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", "2", "c", "d"]
    assert [[t["slug"] for t in line["topics"]] for line in lines] == [
        ["frozen-assets"],
        ["peace-talks"],
        [],  # the exclusion keeps the oligarch's assets out
        [],
    ]
    first = lines[0]["topics"][0]
    assert 0.5 <= first["score"] <= 1
    assert first["evidence"] == [{"term": "euroclear", "field": "title", "position": 0}]
    assert first["snippet"] == "**Euroclear** faces pressure"


def test_match_reports_bad_lines_with_their_number(
    run_cli: RunCli, config: Path, tmp_path: Path
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "x", "title": "Euroclear"}\nnot json\n\n{"title": "no id"}\n[1]\n')
    result = run_cli("--config", str(config), "topics", "match", str(path))
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 1
    assert result.stderr.splitlines() == [
        f"newswatch: {path}: line 2: not valid JSON (Expecting value at column 1)",
        f"newswatch: {path}: line 4: missing 'id' (a string or number)",
        f"newswatch: {path}: line 5: not a JSON object",
    ]


def test_eval_prints_precision_recall_f1(run_cli: RunCli, config: Path, articles: Path) -> None:
    result = run_cli("--config", str(config), "topics", "eval", str(articles), "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    topics = {t["slug"]: t for t in report["topics"]}
    assert report["articles"] == 4
    assert topics["frozen-assets"] == {
        "slug": "frozen-assets",
        "precision": 1.0,
        "recall": 0.5,
        "f1": 0.6667,
        "true_positives": 1,
        "false_positives": 0,
        "false_negatives": 1,
    }
    assert topics["peace-talks"]["f1"] == 1.0
    assert report["macro"]["f1"] == pytest.approx((0.6667 + 1.0) / 2, abs=1e-4)
    text = run_cli("--config", str(config), "topics", "eval", str(articles), "--errors").stdout
    assert "macro average" in text
    assert "FN frozen-assets [d] Weather" in text


def test_topics_test_shows_evidence(run_cli: RunCli, config: Path, articles: Path) -> None:
    result = run_cli(
        "--config",
        str(config),
        "topics",
        "test",
        "Euroclear NEAR/3 pressure",
        "--file",
        str(articles),
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    (hit,) = json.loads(result.stdout)
    assert hit["id"] == "a"
    assert {e["term"] for e in hit["evidence"]} == {"euroclear", "pressure"}
    bad = run_cli("--config", str(config), "topics", "test", "Euroclear AND (")
    assert bad.exit_code == 2
    assert "query syntax error at column 16: the query ends" in bad.stderr


def test_bad_topic_query_in_config_exits_2_with_a_caret(
    run_cli: RunCli, write_config: WriteConfig
) -> None:
    path = write_config({"topics": [{"slug": "x", "name": "X", "query": 'Euroclear OR "loan'}]})
    result = run_cli("--config", str(path), "topics", "list")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"newswatch: error: {path}: topic 'x': query syntax error at column 14: unclosed quote",
        '    Euroclear OR "loan',
        "                 ^",
    ]


def test_fetch_tags_and_retag_applies_changed_topics(
    feed_server: FeedServer, write_config: WriteConfig, run_cli: RunCli
) -> None:
    feed = feed_server.route(
        "/f.xml",
        body=b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>Euroclear under pressure</title><link>https://n.example/1</link><guid>1</guid></item>
<item><title>Ceasefire holds</title><link>https://n.example/2</link><guid>2</guid></item>
</channel></rss>""",
    )
    data = {"feeds": [{"url": feed}], "topics": TOPICS}
    path = write_config(data)
    fetched = json.loads(run_cli("--config", str(path), "fetch", "--json").stdout)
    assert fetched["new_articles"] == 2
    status = json.loads(run_cli("--config", str(path), "status", "--json").stdout)
    assert {t["slug"]: t["articles"] for t in status["topics"]} == {
        "frozen-assets": 1,
        "peace-talks": 1,
    }
    # Nothing is left untagged.
    assert json.loads(run_cli("--config", str(path), "tag", "--json").stdout)["articles"] == 0

    # The peace-talks topic changes: a new version, and --retag applies it to stored articles.
    data["topics"][1] = {**TOPICS[1], "query": "holds"}
    path.write_text(yaml.safe_dump(data))
    listed = json.loads(run_cli("--config", str(path), "topics", "list", "--json").stdout)
    assert {t["slug"]: t["version"] for t in listed} == {"frozen-assets": 1, "peace-talks": 2}
    retagged = json.loads(run_cli("--config", str(path), "tag", "--retag", "--json").stdout)
    assert retagged == {
        "articles": 2,
        "matches": 2,
        "by_topic": {"frozen-assets": 1, "peace-talks": 1},
    }
