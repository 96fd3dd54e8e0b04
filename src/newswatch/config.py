"""Loading and validating the configuration file.

The config is one YAML file (see ``config/newswatch.yaml`` for a commented example). It is
validated completely before anything runs: unknown keys, wrong types, bad URLs, durations,
cron expressions and time zones are all reported as one line each, naming the file, the key path
and what is wrong. Relative paths resolve against the config file's folder. Secrets never live in
the file: it names environment variables (``password_env``) that hold them.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Mapping, Sequence
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from newswatch.errors import ConfigError
from newswatch.units import parse_duration, parse_size
from newswatch.yamlload import load_yaml_file

#: Environment variable naming the config file when ``--config`` is not given.
CONFIG_ENV = "NEWSWATCH_CONFIG"
#: Environment variable that overrides ``database.url``.
DATABASE_URL_ENV = "NEWSWATCH_DATABASE_URL"
#: Config path used when neither ``--config`` nor ``$NEWSWATCH_CONFIG`` is set.
DEFAULT_CONFIG_PATH = Path("config/newswatch.yaml")

_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        return parse_duration(value)
    raise ValueError("expected a duration such as 45s, 15m, 2h or 1d")


def _size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("expected a size such as 512KB or 10MB")
    return parse_size(value)


def _resolve_path(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    path = value.expanduser()
    if base is not None and not path.is_absolute():
        path = Path(base) / path
    return Path(os.path.normpath(path))


def _http_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"{value!r} is not an http(s) URL")
    if not parts.hostname:
        raise ValueError(f"{value!r} has no host")
    return value.strip()


def _email(value: str) -> str:
    if not _EMAIL_RE.match(value.strip()):
        raise ValueError(f"{value!r} is not an email address")
    return value.strip()


Duration = Annotated[timedelta, BeforeValidator(_duration)]
ByteSize = Annotated[int, BeforeValidator(_size)]
ConfigPath = Annotated[Path, AfterValidator(_resolve_path)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
Email = Annotated[str, AfterValidator(_email)]


class _Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


class DatabaseConfig(_Section):
    """``database:`` where articles and state are stored."""

    url: str = Field("sqlite:///data/newswatch.db", validate_default=True)
    # SQLite: how long to wait for another process's write before giving up.
    busy_timeout: Duration = timedelta(seconds=15)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str, info: ValidationInfo) -> str:
        return normalize_database_url(value, (info.context or {}).get("base_dir"))


class FetchConfig(_Section):
    """``fetch:`` how feeds are downloaded."""

    concurrency: int = Field(16, ge=1, le=256)
    per_host: int = Field(2, ge=1, le=64)
    timeout: Duration = timedelta(seconds=20)
    max_bytes: ByteSize = 10 * 1000**2
    default_interval: Duration = timedelta(minutes=30)
    user_agent: str | None = None
    # Article pages (full_text feeds) on loopback/private addresses are refused unless the feed
    # itself is on such an address, or this is true.
    allow_private_links: bool = False
    # Processes that parse, normalise and tag downloads when a pass has many feeds to read
    # (``None``: one per CPU, at most 4, none on one CPU; 0: none, all in the pass's process).
    workers: int | None = Field(None, ge=0, le=64)


class FeedSource(_Section):
    """One entry of ``feeds:``: a feed URL, or an OPML file listing feeds."""

    url: HttpUrl | None = None
    opml: ConfigPath | None = None
    name: str | None = None
    interval: Duration | None = None
    full_text: bool = False
    backfill: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> FeedSource:
        if (self.url is None) == (self.opml is None):
            raise ValueError("give either 'url' (a feed) or 'opml' (a file of feeds)")
        if self.opml is not None and self.name is not None:
            raise ValueError("'name' applies to a feed 'url', not to an 'opml' file")
        return self


class SmtpSecurity(StrEnum):
    """How the SMTP connection is protected."""

    NONE = "none"
    STARTTLS = "starttls"
    SSL = "ssl"


class SmtpConfig(_Section):
    """``digests.NAME.email.smtp:`` the mail server."""

    host: str = "localhost"
    port: int | None = Field(None, ge=1, le=65535)
    security: SmtpSecurity = SmtpSecurity.STARTTLS
    username: str | None = None
    password_env: str | None = None
    timeout: Duration = timedelta(seconds=30)

    @model_validator(mode="before")
    @classmethod
    def _no_password_in_file(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "password" in data:
            raise ValueError(
                "passwords are never read from the config file; put it in an environment "
                "variable and name it with 'password_env'"
            )
        return data

    @field_validator("password_env")
    @classmethod
    def _check_env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME_RE.match(value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value

    @property
    def effective_port(self) -> int:
        """The port to connect to: the configured one, else the usual one for ``security``."""
        if self.port is not None:
            return self.port
        return {SmtpSecurity.NONE: 25, SmtpSecurity.STARTTLS: 587, SmtpSecurity.SSL: 465}[
            self.security
        ]

    def password(self) -> str | None:
        """Read the password from the environment variable the config names.

        Raises:
            ConfigError: ``password_env`` is set but the variable is not.
        """
        if self.password_env is None:
            return None
        value = os.environ.get(self.password_env)
        if value is None:
            raise ConfigError(
                f"environment variable {self.password_env} (smtp.password_env) is not set"
            )
        return value


#: Alert channels are named after their topic with this prefix.
ALERT_PREFIX = "alert-"

#: The placeholders a subject template may use, with sample values to validate it against.
SUBJECT_FIELDS = {"digest": "daily", "count": 3, "stories": 2, "date": "2026-01-31"}


class EmailConfig(_Section):
    """``digests.NAME.email:`` email delivery of a digest."""

    to: list[Email] = Field(min_length=1)
    from_: Email = Field(alias="from")
    subject: str = "newswatch {digest}: {count} new articles ({date})"
    smtp: SmtpConfig = SmtpConfig()

    @field_validator("subject")
    @classmethod
    def _check_subject(cls, value: str) -> str:
        try:
            value.format(**SUBJECT_FIELDS)
        except (KeyError, IndexError, ValueError) as exc:
            fields = ", ".join("{" + name + "}" for name in SUBJECT_FIELDS)
            raise ValueError(
                f"subject template {value!r} does not work ({exc!r}); it may use {fields}"
            ) from None
        return value


class MarkdownConfig(_Section):
    """``digests.NAME.markdown:`` Markdown file delivery of a digest."""

    dir: ConfigPath


class DigestConfig(_Section):
    """``digests.NAME:`` one digest channel."""

    schedule: str = "0 7 * * *"
    timezone: str = "UTC"
    topics: Literal["all"] | list[str] = "all"
    min_score: float | None = None
    max_per_topic: int | None = Field(None, ge=1)
    # An empty period always leaves a short note in Markdown; ``send_empty`` also emails it.
    send_empty: bool = False
    markdown: MarkdownConfig | None = None
    email: EmailConfig | None = None
    # POST the digest as JSON to this URL (chat bridges, automation).
    webhook: HttpUrl | None = None
    # A folder whose digest.md.j2 / digest.txt.j2 / digest.html.j2 replace the shipped ones.
    templates: ConfigPath | None = None

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use e.g. Europe/Kyiv or UTC)") from None
        return value

    @model_validator(mode="after")
    def _check_schedule(self) -> DigestConfig:
        from newswatch.digest.schedule import trigger

        try:
            trigger(self.schedule, self.timezone)
        except ValueError as exc:
            raise ValueError(
                f"schedule {self.schedule!r} is not a valid cron expression: {exc}"
            ) from None
        if self.markdown is None and self.email is None and self.webhook is None:
            raise ValueError("a digest needs a delivery: 'markdown', 'email' and/or 'webhook'")
        if self.templates is not None and not self.templates.is_dir():
            raise ValueError(f"templates folder {self.templates} does not exist")
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The channel's time zone."""
        return ZoneInfo(self.timezone)


class AlertConfig(_Section):
    """``alert:`` of a topic: send a high-scoring match right away, once."""

    min_score: float = Field(0.9, ge=0, le=1)
    email: EmailConfig | None = None
    webhook: HttpUrl | None = None

    @model_validator(mode="after")
    def _one_way(self) -> AlertConfig:
        if self.email is None and self.webhook is None:
            raise ValueError("an alert needs 'email', 'webhook' or both")
        return self


class TopicConfig(_Section):
    """One topic definition (in the topics file, or inline under ``topics:``)."""

    slug: str
    name: str
    description: str = ""
    query: str
    threshold: float = Field(0.5, ge=0, le=1)
    exclude: str | None = None
    alert: AlertConfig | None = None

    @field_validator("slug")
    @classmethod
    def _check_slug(cls, value: str) -> str:
        if not _SLUG_RE.match(value):
            raise ValueError(f"{value!r} is not a slug (lower-case letters, digits and '-')")
        return value


class TopicsFile(_Section):
    """The schema of a topics file: ``topics:`` and a list of topic definitions."""

    topics: list[TopicConfig] = []

    @field_validator("topics")
    @classmethod
    def _unique_slugs(cls, value: list[TopicConfig]) -> list[TopicConfig]:
        seen: set[str] = set()
        for topic in value:
            if topic.slug in seen:
                raise ValueError(f"topic slug {topic.slug!r} is defined twice")
            seen.add(topic.slug)
        return value


class LoggingConfig(_Section):
    """``logging:`` how much the CLI and daemon log, and in which form."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"


class DaemonConfig(_Section):
    """``daemon:`` how ``newswatch run`` paces itself."""

    # How often the daemon looks for due feeds (each feed keeps its own interval).
    poll_interval: Duration = timedelta(seconds=30)
    # SIGTERM/SIGINT: how long in-flight work may take to finish before the process exits.
    shutdown_timeout: Duration = timedelta(seconds=10)
    heartbeat: Duration = timedelta(seconds=30)
    # A worker's claim on the feeds it fetches; a dead worker's feeds are taken over after it.
    lease: Duration = timedelta(minutes=10)
    # When the daily maintenance (retention, statistics) runs, in UTC.
    maintenance: str = "30 3 * * *"

    @model_validator(mode="after")
    def _check(self) -> DaemonConfig:
        from newswatch.digest.schedule import trigger

        try:
            trigger(self.maintenance, "UTC")
        except ValueError as exc:
            raise ValueError(
                f"maintenance {self.maintenance!r} is not a valid cron expression: {exc}"
            ) from None
        for name in ("poll_interval", "heartbeat", "lease"):
            if getattr(self, name) < timedelta(seconds=0.1):
                raise ValueError(f"{name} must be at least 0.1s")
        return self


class RetentionConfig(_Section):
    """``retention:`` how long article text is kept (identities are kept for ever)."""

    # Articles ingested longer ago become tombstones; none by default (keep everything).
    articles: Duration | None = None


class MetricsConfig(_Section):
    """``metrics:`` an optional Prometheus endpoint served by ``newswatch run``."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(9464, ge=1, le=65535)


class _RawConfig(_Section):
    """The config file as written, before the topics file is read."""

    # Validated even when absent, so the default SQLite path resolves against the config folder.
    database: DatabaseConfig = Field(default_factory=dict, validate_default=True)
    fetch: FetchConfig = FetchConfig()
    feeds: list[FeedSource] = []
    topics_file: ConfigPath | None = None
    topics: list[TopicConfig] | None = None
    digests: dict[str, DigestConfig] = {}
    logging: LoggingConfig = LoggingConfig()
    daemon: DaemonConfig = DaemonConfig()
    retention: RetentionConfig = RetentionConfig()
    metrics: MetricsConfig = MetricsConfig()

    @model_validator(mode="after")
    def _one_topic_source(self) -> _RawConfig:
        if self.topics_file is not None and self.topics is not None:
            raise ValueError("give either 'topics_file' or inline 'topics', not both")
        return self

    @field_validator("digests")
    @classmethod
    def _check_names(cls, value: dict[str, DigestConfig]) -> dict[str, DigestConfig]:
        for name in value:
            if not _SLUG_RE.match(name):
                raise ValueError(f"digest name {name!r} must be lower-case letters, digits, '-'")
            if name.startswith(ALERT_PREFIX):
                raise ValueError(
                    f"digest name {name!r}: names starting {ALERT_PREFIX!r} are for topic alerts"
                )
        return value


class FeedSpec(BaseModel):
    """One feed as the config declares it, after OPML files are read."""

    model_config = ConfigDict(frozen=True)

    url: str
    name: str | None = None
    interval: timedelta | None = None
    full_text: bool = False
    backfill: bool = False


class Config(BaseModel):
    """The validated configuration: the config file plus its topics, paths resolved."""

    model_config = ConfigDict(frozen=True)

    path: Path
    database: DatabaseConfig
    fetch: FetchConfig
    feeds: tuple[FeedSpec, ...]
    topics: tuple[TopicConfig, ...]
    topics_path: Path | None
    digests: Mapping[str, DigestConfig]
    logging: LoggingConfig
    daemon: DaemonConfig = DaemonConfig()
    retention: RetentionConfig = RetentionConfig()
    metrics: MetricsConfig = MetricsConfig()

    @property
    def alerts(self) -> dict[str, DigestConfig]:
        """Each topic's alert as a channel of its own (``alert-<slug>``), delivered at once."""
        channels = {}
        for topic in self.topics:
            if topic.alert is None:
                continue
            channels[f"{ALERT_PREFIX}{topic.slug}"] = DigestConfig(
                topics=[topic.slug],
                min_score=topic.alert.min_score,
                email=topic.alert.email,
                webhook=topic.alert.webhook,
            )
        return channels

    def channel(self, name: str) -> DigestConfig | None:
        """A digest or alert channel by name."""
        return self.digests.get(name) or self.alerts.get(name)

    @property
    def base_dir(self) -> Path:
        """The folder relative paths resolve against: the config file's."""
        return self.path.parent


def normalize_database_url(url: str, base_dir: str | Path | None = None) -> str:
    """Check a database URL and make it usable as is.

    Relative SQLite paths resolve against ``base_dir``; ``postgresql://`` without a driver gets
    psycopg 3, the driver newswatch ships with.

    Raises:
        ValueError: the URL cannot be parsed or names an unsupported database.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"{url!r} is not a database URL") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.drivername != "sqlite":
            raise ValueError(f"use the plain 'sqlite' driver, not {parsed.drivername!r}")
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database).expanduser()
            if base_dir is not None and not path.is_absolute():
                path = Path(base_dir) / path
            parsed = parsed.set(database=os.path.normpath(path))
        return parsed.render_as_string(hide_password=False)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        elif parsed.drivername != "postgresql+psycopg":
            raise ValueError(
                f"PostgreSQL is reached through psycopg 3: use 'postgresql://' or "
                f"'postgresql+psycopg://', not {parsed.drivername!r}"
            )
        return parsed.render_as_string(hide_password=False)
    raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")


def default_config_path() -> Path:
    """The config path used without ``--config``: ``$NEWSWATCH_CONFIG``, else the default."""
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else DEFAULT_CONFIG_PATH


def load_config(path: Path | str, *, environ: Mapping[str, str] | None = None) -> Config:
    """Read, validate and resolve a config file and the topics it names.

    Args:
        path: the config file.
        environ: the environment to read overrides from (default: ``os.environ``).

    Returns:
        The validated configuration.

    Raises:
        ConfigError: anything is missing or wrong; the message has one line per problem, each
            naming the file and the key path.
    """
    env = os.environ if environ is None else environ
    path = Path(path).expanduser().absolute()
    if not path.exists():
        raise ConfigError(
            f"{path}: config file not found; create one with 'newswatch init {path.parent}'"
        )
    data = load_yaml_file(path, what="config file")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be a mapping of keys, not {_kind(data)}")
    context = {"base_dir": path.parent}
    try:
        raw = _RawConfig.model_validate(data, context=context)
    except pydantic.ValidationError as exc:
        raise ConfigError(_format_errors(path, exc, _RawConfig)) from None

    database = raw.database
    override = env.get(DATABASE_URL_ENV)
    if override:
        try:
            database = DatabaseConfig(
                url=normalize_database_url(override, Path.cwd()),
                busy_timeout=raw.database.busy_timeout,
            )
        except ValueError as exc:
            raise ConfigError(f"${DATABASE_URL_ENV}: {exc}") from None

    topics_path = raw.topics_file
    if topics_path is None:
        topics = tuple(raw.topics or ())
        check_queries(path, topics)
    else:
        topics = _load_topics(topics_path)
    slugs = {topic.slug for topic in topics}
    problems = []
    for name, digest in raw.digests.items():
        if digest.topics == "all":
            continue
        for index, slug in enumerate(digest.topics):
            if slug not in slugs:
                hint = _suggest(slug, slugs)
                problems.append(
                    f"{path}: digests.{name}.topics[{index}]: unknown topic {slug!r}{hint}"
                )
    if problems:
        raise ConfigError("\n".join(problems))

    return Config(
        path=path,
        database=database,
        fetch=raw.fetch,
        feeds=_expand_feeds(path, raw.feeds),
        topics=topics,
        topics_path=topics_path,
        digests=dict(raw.digests),
        logging=raw.logging,
        daemon=raw.daemon,
        retention=raw.retention,
        metrics=raw.metrics,
    )


def _load_topics(path: Path) -> tuple[TopicConfig, ...]:
    data = load_yaml_file(path, what="topics file")
    if data is None:
        return ()
    if isinstance(data, list):
        data = {"topics": data}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the topics file must hold 'topics:' and a list of topics")
    try:
        parsed = TopicsFile.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ConfigError(_format_errors(path, exc, TopicsFile)) from None
    check_queries(path, parsed.topics)
    return tuple(parsed.topics)


def check_queries(path: Path, topics: Sequence[TopicConfig]) -> None:
    """Parse every topic's query and exclusion, so a bad one stops newswatch at start.

    Raises:
        ConfigError: a query does not parse; the message names the file and topic and shows
            the position with a caret.
    """
    from newswatch.tagging.query import QuerySyntaxError, parse_query

    for topic in topics:
        for field_name, query in (("query", topic.query), ("exclude", topic.exclude)):
            if query is None:
                continue
            try:
                parse_query(query)
            except QuerySyntaxError as exc:
                located = exc.for_topic(topic.slug, field_name)
                raise ConfigError(f"{path}: {located}") from None


def _expand_feeds(path: Path, sources: Sequence[FeedSource]) -> tuple[FeedSpec, ...]:
    specs: dict[str, FeedSpec] = {}
    for index, source in enumerate(sources):
        if source.url is not None:
            if source.url in specs:
                raise ConfigError(f"{path}: feeds[{index}].url: {source.url} is listed twice")
            specs[source.url] = FeedSpec(
                url=source.url,
                name=source.name,
                interval=source.interval,
                full_text=source.full_text,
                backfill=source.backfill,
            )
            continue
        assert source.opml is not None
        from newswatch.opml import OpmlError, read_opml  # lxml: only for configs that use OPML

        try:
            outlines = read_opml(source.opml)
        except OpmlError as exc:
            raise ConfigError(f"{path}: feeds[{index}].opml: {exc}") from None
        for outline in outlines:
            # A feed declared explicitly wins over the same feed in an OPML file.
            specs.setdefault(
                outline.url,
                FeedSpec(
                    url=outline.url,
                    name=outline.title,
                    interval=source.interval,
                    full_text=source.full_text,
                    backfill=source.backfill,
                ),
            )
    return tuple(specs.values())


def _format_errors(path: Path, exc: pydantic.ValidationError, model: type[BaseModel]) -> str:
    lines = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        key = _format_loc(loc)
        if error["type"] == "extra_forbidden":
            known = _known_keys(model, loc[:-1])
            message = f"unknown key{_suggest(str(loc[-1]), known)}"
        elif error["type"] == "missing":
            message = "required key is missing"
        else:
            message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
            if error["type"].endswith("_type") or error["type"].endswith("_parsing"):
                message += f" (got {_kind(error.get('input'))})"
        lines.append(f"{path}: {key}: {message}" if key else f"{path}: {message}")
    return "\n".join(lines)


def _format_loc(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in ("list[str]", "literal['all']"):
            continue  # pydantic's name for a union branch, not a key
        else:
            text += f".{part}" if text else str(part)
    return text


def _known_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> set[str]:
    """The keys allowed at ``loc`` inside ``model``, for "did you mean" hints."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next(
                (f for n, f in current.model_fields.items() if (f.alias or n) == part), None
            )
            if field is None:
                return set()
            current = field.annotation
        else:
            args = typing.get_args(current)
            current = args[-1] if args else None
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return {f.alias or n for n, f in current.model_fields.items()}
    return set()


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            models = [
                a
                for a in typing.get_args(annotation)
                if isinstance(a, type) and issubclass(a, BaseModel)
            ]
            if not models:
                return annotation
            annotation = models[0]
        else:
            return annotation


def _suggest(word: str, choices: set[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
