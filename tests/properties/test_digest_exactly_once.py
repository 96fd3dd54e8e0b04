"""The digest selector is exactly-once over any interleaving of ingest, send and failures.

A Hypothesis state machine drives a real ``Monitor``: a SQLite database in a temporary folder
(migrated like any other), real Markdown files, and a real SMTP server in this process. Its
steps store articles (some matching the channel's topic, some not, some backlog), move the
clock (from a quarter of a second to eight days), run ``digest send`` and the daemon's
scheduled job, and break and repair the two deliveries: the Markdown folder becomes
unwritable, and the mail server refuses (421, 451, a connection dropped during DATA, 550) or
goes down.

After every step, what the ledger, the folder and the mail server show must agree with what
newswatch promises (``newswatch.digest.runner``, ``newswatch.storage.ledger``):

* no article is in two digests of the channel, and only matched, non-backlog articles are;
* every digest takes the owed articles ingested up to its period end: once a digest exists,
  every matched non-backlog article stored before it was built and ingested by its period end
  is in it or in an earlier one (articles ingested more than ``LOOKBACK`` before the channel's
  first digest are, by design, never owed);
* a delivery that is done is visible: the Markdown file holds the digest's article titles and
  is listed in ``index.md`` (no two digests share a file, no temporary file is left behind),
  and exactly one message with the digest's Message-ID and titles reached the server;
* a failed delivery failed because of an injected fault, and a digest's status follows its
  deliveries.

At the end the faults are repaired, time moves on and ``digest send`` runs once more; then
nothing may be pending and every owed article must be in exactly one digest.

Markdown failures are permanent by design (``write_markdown``: a person must fix the folder),
so only email exercises retries.

The machine makes ``RUNS`` runs of up to ``STEPS`` steps (about 10 s); for a longer search::

    NEWSWATCH_HYPOTHESIS_EXAMPLES=20 .venv/bin/python -m pytest -q \\
        tests/properties/test_digest_exactly_once.py
"""

from __future__ import annotations

import functools
import shutil
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import yaml
from budget import examples
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from builders import Clock
from newswatch.app import Monitor, make_monitor
from newswatch.config import load_config
from newswatch.digest.runner import LOOKBACK
from newswatch.model import Article, DeliveryStatus, Digest, DigestStatus
from smtpserver import Mode, SmtpServer

CHANNEL = "daily"
#: Every two hours, Kyiv time: scheduled runs find slots, and local days are not UTC days.
SCHEDULE = "0 */2 * * *"
TIMEZONE = "Europe/Kyiv"
TOPIC_QUERY = "ceasefire"
MATCHING = ("Ceasefire talks resume in Geneva", "Envoys sketch a ceasefire line")
OTHER = ("Bakery opens a second shop", "Local team wins the derby")

#: Ways the mail server fails: temporary ones are retried, 550 is final.
MAIL_FAULTS = {
    "421 at MAIL": Mode(reply_at="mail", reply="421 4.3.2 service shutting down"),
    "451 at DATA": Mode(reply_at="data", reply="451 4.3.0 local error"),
    "dropped in DATA": Mode(drop_during_data=True),
    "550 at RCPT": Mode(reply_at="rcpt", reply="550 5.1.1 user unknown"),
    "server down": Mode(),
}
PERMANENT_MAIL_ERRORS = ("550",)

#: Runs of the machine and steps per run (a build takes ~0.25 s, most of it compiling the
#: channel's templates afresh); NEWSWATCH_HYPOTHESIS_EXAMPLES scales the runs.
RUNS = 10
STEPS = 20


@functools.cache
def chmod_blocks_writes() -> bool:
    """Whether a 0o500 folder refuses new files here (not for root, as in CI)."""
    probe = Path(tempfile.mkdtemp(prefix="newswatch-chmod-"))
    try:
        probe.chmod(0o500)
        try:
            (probe / "file").write_text("x")
        except PermissionError:
            return True
        return False
    finally:
        probe.chmod(0o700)
        shutil.rmtree(probe)


class FolderFault:
    """Makes a channel's Markdown folder unwritable, and repairs it.

    Where permissions bind, the folder is made read-only. Root ignores them, so there the folder
    is moved aside and a plain file takes its name: creating or writing into it then fails.
    """

    def __init__(self, root: Path, channel: str) -> None:
        self.folder = root / channel
        self.aside = root / f".{channel}.aside"
        self.active = False

    def inject(self) -> None:
        if chmod_blocks_writes():
            self.folder.mkdir(parents=True, exist_ok=True)
            self.folder.chmod(0o500)
        else:
            if self.folder.exists():
                self.folder.rename(self.aside)
            self.folder.write_text("not a folder\n", encoding="utf-8")
        self.active = True

    def repair(self) -> None:
        if not self.active:
            return
        if chmod_blocks_writes():
            self.folder.chmod(0o700)
        else:
            self.folder.unlink()
            if self.aside.exists():
                self.aside.rename(self.folder)
        self.active = False


@dataclass(frozen=True)
class Stored:
    """What the test knows of an article it stored."""

    title: str
    matching: bool
    backlog: bool
    ingested_at: datetime
    #: The newest digest id when the article was stored: later digests were built after it.
    digests_before: int


class DigestLedgerMachine(RuleBasedStateMachine):
    """One newswatch installation, one digest channel, driven step by step."""

    #: Set by the test: one server for every run (each run resets it).
    smtp: SmtpServer

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="newswatch-prop-"))
        self.smtp.mode = Mode()
        with self.smtp.lock:
            self.smtp.received.clear()
            self.smtp.envelopes.clear()
        self.smtp_down = False
        self.clock = Clock()
        self.digests_dir = self.folder / "digests"
        self.digests_dir.mkdir()
        self.monitor = self._open_monitor()
        self.feed_id = self.monitor.storage.list_feeds()[0].id
        self.articles: dict[int, Stored] = {}
        self.serial = 0
        self.markdown_fault = FolderFault(self.digests_dir, CHANNEL)
        self.markdown_fault_seen = False
        self.mail_fault: str | None = None
        self.mail_faults_seen: set[str] = set()

    def _open_monitor(self) -> Monitor:
        config = {
            "database": {"url": f"sqlite:///{self.folder / 'newswatch.db'}"},
            "feeds": [{"url": "https://wire.example/rss.xml", "name": "Wire"}],
            "topics": [{"slug": "ceasefire", "name": "Ceasefire", "query": TOPIC_QUERY}],
            "digests": {
                CHANNEL: {
                    "schedule": SCHEDULE,
                    "timezone": TIMEZONE,
                    "markdown": {"dir": str(self.digests_dir)},
                    "email": {
                        "to": ["analyst@example.org"],
                        "from": "newswatch@example.org",
                        "smtp": self.smtp.smtp_config(timeout="2s"),
                    },
                }
            },
        }
        path = self.folder / "newswatch.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return make_monitor(load_config(path, environ={}), clock=self.clock)

    # -- reading the ledger ------------------------------------------------------------------

    def digests(self) -> list[Digest]:
        """Every digest of the channel with its items, oldest (lowest id) first."""
        storage = self.monitor.storage
        found = []
        for listed in storage.list_digests(CHANNEL, limit=100_000):
            digest = storage.get_digest(listed.id)
            assert digest is not None
            found.append(digest)
        return sorted(found, key=lambda d: d.id)

    def owed(self, digests: list[Digest]) -> dict[int, Stored]:
        """The articles the channel owes: matched, not backlog, not older than its reach."""
        reach = digests[0].period_end - LOOKBACK if digests else None
        return {
            article_id: article
            for article_id, article in self.articles.items()
            if article.matching
            and not article.backlog
            and (reach is None or article.ingested_at > reach)
        }

    # -- steps -------------------------------------------------------------------------------

    @rule(
        kinds=st.lists(st.sampled_from(["match", "match", "other"]), min_size=1, max_size=4),
        backlog=st.booleans(),
    )
    def ingest(self, kinds: list[str], backlog: bool) -> None:
        digests = self.digests()
        newest = max((d.id for d in digests), default=0)
        now = self.clock.now
        for kind in kinds:
            self.serial += 1
            titles = MATCHING if kind == "match" else OTHER
            title = f"{titles[self.serial % len(titles)]}, report {self.serial}"
            article, new = self.monitor.storage.save_article(
                Article(
                    feed_id=self.feed_id,
                    entry_key=f"entry-{self.serial}",
                    title=title,
                    summary=f"{title}. More at eleven.",
                    backlog=backlog,
                    ingested_at=now,
                ),
                now,
            )
            assert new
            assert article.id is not None
            self.articles[article.id] = Stored(title, kind == "match", backlog, now, newest)

    @rule(
        step=st.sampled_from(
            [
                timedelta(seconds=0.25),
                timedelta(seconds=0.25),
                timedelta(minutes=1),
                timedelta(minutes=59),
                timedelta(hours=2, minutes=1),
                timedelta(hours=7),
                timedelta(days=1),
                timedelta(days=3),
                timedelta(days=8),
            ]
        )
    )
    def advance(self, step: timedelta) -> None:
        self.clock.now += step

    @rule()
    def send(self) -> None:
        self.monitor.send_digests(CHANNEL)

    @rule()
    def scheduled(self) -> None:
        self.monitor.run_scheduled_digest(CHANNEL)

    @rule()
    def break_or_repair_markdown(self) -> None:
        if self.markdown_fault.active:
            self.markdown_fault.repair()
        else:
            self.markdown_fault.inject()
            self.markdown_fault_seen = True

    @rule(fault=st.sampled_from(sorted(MAIL_FAULTS)))
    def break_or_repair_mail(self, fault: str) -> None:
        if self.mail_fault is not None:
            self._repair_mail()
            return
        if fault == "server down":
            self.smtp.stop()
            self.smtp_down = True
        else:
            self.smtp.mode = MAIL_FAULTS[fault]
        self.mail_fault = fault
        self.mail_faults_seen.add(fault)

    def _repair_mail(self) -> None:
        self.smtp.mode = Mode()
        if self.smtp_down:
            self.smtp.start()
            self.smtp_down = False
        self.mail_fault = None

    # -- what must hold after every step -----------------------------------------------------

    @invariant()
    def promises_hold(self) -> None:
        digests = self.digests()
        self.check_ledger(digests)
        self.check_deliveries(digests)

    def check_ledger(self, digests: list[Digest]) -> None:
        """Exactly-once: each owed article in one digest, the first that could take it."""
        owed = self.owed(digests)
        seen: dict[int, int] = {}
        previous_end: datetime | None = None
        for digest in digests:
            # Each digest continues where the last one ended (a slot is built once, in order).
            assert previous_end is None or digest.period_end > previous_end, digest
            since = (previous_end or digest.period_end) - LOOKBACK
            assert digest.article_count == len(digest.items)
            for item in digest.items:
                assert item.article_id not in seen, (
                    f"article {item.article_id} is in digests {seen[item.article_id]} and "
                    f"{digest.id}"
                )
                seen[item.article_id] = digest.id
                article = self.articles[item.article_id]
                assert article.matching, f"digest {digest.id} holds unmatched {article.title!r}"
                assert not article.backlog, f"digest {digest.id} holds backlog {article.title!r}"
                assert since < article.ingested_at <= digest.period_end, (article, digest)
            # Everything owed that this digest could see is in it or in an earlier one.
            for article_id, article in owed.items():
                if article.digests_before < digest.id and article.ingested_at <= digest.period_end:
                    assert seen.get(article_id, sys.maxsize) <= digest.id, (
                        f"article {article_id} ({article.title!r}, ingested "
                        f"{article.ingested_at:%d %H:%M:%S}) is owed by digest {digest.id} "
                        f"(ending {digest.period_end:%d %H:%M:%S}) but is in "
                        f"{seen.get(article_id, 'no digest')}"
                    )
            previous_end = digest.period_end

    def check_deliveries(self, digests: list[Digest]) -> None:
        """What the folder and the mail server show agrees with the ledger."""
        with self.smtp.lock:
            received = list(self.smtp.received)
        by_message_id: dict[str, list[EmailMessage]] = {}
        for message in received:
            by_message_id.setdefault(str(message["Message-ID"]), []).append(message)
        markdown_files: dict[str, int] = {}
        for digest in digests:
            for delivery in digest.deliveries:
                if delivery.kind == "markdown":
                    assert delivery.target not in markdown_files, (
                        f"digests {markdown_files[delivery.target]} and {digest.id} "
                        f"share the Markdown file {delivery.target}"
                    )
                    markdown_files[delivery.target] = digest.id
        for digest in digests:
            self._check_status(digest)
            kinds = sorted(d.kind for d in digest.deliveries)
            assert kinds == (["email", "markdown"] if digest.items else ["markdown"]), digest
            titles = [self.articles[item.article_id].title for item in digest.items]
            for delivery in digest.deliveries:
                if delivery.kind == "markdown":
                    self._check_markdown(digest, delivery.status, delivery.target, titles)
                    if delivery.status is DeliveryStatus.FAILED:
                        assert self.markdown_fault_seen, delivery
                        assert "cannot write" in (delivery.last_error or ""), delivery
                else:
                    sent = by_message_id.pop(str(digest.message_id), [])
                    if delivery.status is DeliveryStatus.DONE:
                        # No process died here, so a repeat would be a bug, not a retry.
                        assert len(sent) == 1, (digest.message_id, len(sent))
                        body = sent[0].get_body(preferencelist=("plain",))
                        assert isinstance(body, EmailMessage)
                        text = str(body.get_content())
                        for title in titles:
                            assert title in text, (title, digest.id)
                    else:
                        assert not sent, f"digest {digest.id} reached the server but is {delivery}"
                    if delivery.status is DeliveryStatus.FAILED:
                        error = delivery.last_error or ""
                        permanent = any(code in error for code in PERMANENT_MAIL_ERRORS)
                        assert permanent or "giving up" in error, delivery
                        assert self.mail_faults_seen, delivery
        assert not by_message_id, f"messages of no digest: {sorted(by_message_id)}"
        self._check_folder(markdown_files)

    def _check_status(self, digest: Digest) -> None:
        states = {d.status for d in digest.deliveries}
        if DeliveryStatus.PENDING in states:
            expected = DigestStatus.PENDING
        elif DeliveryStatus.FAILED in states:
            expected = DigestStatus.FAILED
        else:
            expected = DigestStatus.SENT if digest.items else DigestStatus.EMPTY
        assert digest.status is expected, (digest.status, digest.deliveries)

    def _check_markdown(
        self, digest: Digest, status: DeliveryStatus, target: str, titles: list[str]
    ) -> None:
        if status is not DeliveryStatus.DONE or self.markdown_fault.active:
            return  # (while the folder is broken, its files are out of sight)
        path = Path(target)
        assert path.is_file(), f"digest {digest.id}: {path} is gone"
        markdown = path.read_text(encoding="utf-8")
        for title in titles:
            assert title in markdown, f"digest {digest.id}: {title!r} missing from {path.name}"
        if not digest.items:
            assert "No new items" in markdown, path.name

    def _check_folder(self, markdown_files: dict[str, int]) -> None:
        folder = self.digests_dir / CHANNEL
        if self.markdown_fault.active or not folder.is_dir():
            return
        names = {p.name for p in folder.iterdir()}
        assert not [n for n in names if n.startswith(".")], f"partial files left: {names}"
        index = (folder / "index.md").read_text(encoding="utf-8") if "index.md" in names else ""
        for target in markdown_files:
            path = Path(target)
            if path.is_file():
                assert f"]({path.name})" in index, f"{path.name} not in index.md"

    # -- the end of a run --------------------------------------------------------------------

    def teardown(self) -> None:
        # Hypothesis calls this from a ``finally``: while a step's failure is propagating,
        # only clean up, so the failure reported is the step's own.
        failing = sys.exc_info()[1] is not None
        try:
            if not failing:
                self.settle()
        finally:
            self.markdown_fault.repair()
            if self.mail_fault is not None:
                self._repair_mail()
            self.monitor.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    def settle(self) -> None:
        """Repair everything, let time pass, send once more: all owed, once, delivered."""
        self.markdown_fault.repair()
        if self.mail_fault is not None:
            self._repair_mail()
        self.clock.now += timedelta(minutes=1)
        self.monitor.send_digests(CHANNEL)
        digests = self.digests()
        self.check_ledger(digests)
        self.check_deliveries(digests)
        delivered = [item.article_id for digest in digests for item in digest.items]
        assert sorted(delivered) == sorted(self.owed(digests)), "owed articles not delivered"
        pending = [
            (digest.id, delivery)
            for digest in digests
            for delivery in digest.deliveries
            if delivery.status is DeliveryStatus.PENDING
        ]
        assert not pending, pending


def test_digests_take_each_owed_article_exactly_once(smtp_server: SmtpServer) -> None:
    DigestLedgerMachine.smtp = smtp_server
    run_state_machine_as_test(
        DigestLedgerMachine,
        settings=settings(max_examples=examples(RUNS), stateful_step_count=STEPS, deadline=None),
    )


def test_digests_within_one_second_keep_their_own_markdown_files(
    smtp_server: SmtpServer,
) -> None:
    """A run the machine found, replayed on every test run (like ``@example`` for ``@given``)."""
    DigestLedgerMachine.smtp = smtp_server
    machine = DigestLedgerMachine()
    try:
        machine.ingest(["match"], backlog=False)
        machine.send()  # the day's first digest: <date>.md
        machine.advance(timedelta(minutes=1))
        machine.ingest(["match"], backlog=False)
        machine.send()  # <date>-<HHMMSS>.md
        machine.advance(timedelta(seconds=0.25))
        machine.ingest(["match"], backlog=False)
        machine.send()  # the same second: the same name as the one before
        machine.promises_hold()
    finally:
        machine.teardown()
