"""Delivering a built digest: a Markdown file (atomically) and an email (over SMTP).

Both take the ``DigestBody`` kept in the ledger, so a retry delivers exactly what was built.
Failures raise ``DeliveryError`` saying whether trying again later can help (a 4xx reply, a
refused or dropped connection, a timeout) or not (a 5xx reply, authentication refused).
"""

from __future__ import annotations

import secrets
import smtplib
import ssl
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from newswatch.config import EmailConfig, SmtpSecurity
from newswatch.errors import ConfigError, NewswatchError
from newswatch.files import write_text_atomic
from newswatch.model import Digest, DigestBody

INDEX_NAME = "index.md"


class DeliveryError(NewswatchError):
    """A delivery failed; ``temporary`` says whether a later attempt may succeed."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


# -- Markdown ---------------------------------------------------------------------------------


def markdown_path(folder: Path, channel: str, local_date: str, local_time: str | None) -> Path:
    """Where a digest's Markdown goes: ``<folder>/<channel>/<date>[-<HHMMSS>[-N]].md``."""
    name = local_date if local_time is None else f"{local_date}-{local_time}"
    return folder / channel / f"{name}.md"


def write_markdown(path: Path, markdown: str) -> None:
    """Write the digest file atomically, then rebuild the channel's ``index.md``.

    Raises:
        DeliveryError: the folder cannot be written (not retried: a person must fix it).
    """
    try:
        write_text_atomic(path, markdown)
        write_text_atomic(path.parent / INDEX_NAME, _index(path.parent))
    except NewswatchError as exc:
        raise DeliveryError(str(exc), temporary=False) from None


def _index(folder: Path) -> str:
    files = sorted(
        (p for p in folder.glob("*.md") if p.name != INDEX_NAME and not p.name.startswith(".")),
        reverse=True,
    )
    lines = [f"# {folder.name} digests", ""]
    lines.extend(f"- [{p.stem}]({p.name})" for p in files)
    return "\n".join(lines) + "\n"


# -- email ------------------------------------------------------------------------------------


def new_message_id(channel: str, period_end: datetime, sender: str) -> str:
    """A Message-ID for a new digest, fixed in the ledger so retries reuse it."""
    domain = sender.rpartition("@")[2] or "newswatch.invalid"
    # Short enough never to be folded: channel, slot and a random part (two daemons building
    # the same slot still differ, though the ledger keeps only one).
    return f"<{channel[:40]}.{period_end:%Y%m%dT%H%M%SZ}.{secrets.token_hex(5)}@{domain}>"


def build_email(
    body: DigestBody, config: EmailConfig, *, message_id: str, date: datetime
) -> EmailMessage:
    """The digest as a ``multipart/alternative`` message (plain text, then HTML).

    Every header comes from the config and the ledger, never from a feed; the subject was made
    one line when rendered, and ``EmailMessage`` refuses line breaks in headers regardless.
    """
    message = EmailMessage()
    message["Subject"] = body.subject
    message["From"] = config.from_
    message["To"] = ", ".join(config.to)
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message["X-Mailer"] = "newswatch"
    message.set_content(body.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(body.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message


def send_email(message: EmailMessage, config: EmailConfig) -> list[str]:
    """Send ``message`` through the configured SMTP server.

    Returns:
        Recipients the server refused while accepting others (the message went to the rest).

    Raises:
        DeliveryError: the message was not accepted; ``temporary`` tells whether to retry.
    """
    smtp = config.smtp
    where = f"SMTP {smtp.host}:{smtp.effective_port}"
    try:
        password = smtp.password()
    except ConfigError as exc:
        raise DeliveryError(str(exc), temporary=False) from None
    timeout = smtp.timeout.total_seconds()
    try:
        client: smtplib.SMTP
        if smtp.security is SmtpSecurity.SSL:
            context = ssl.create_default_context()
            client = smtplib.SMTP_SSL(
                smtp.host, smtp.effective_port, timeout=timeout, context=context
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.effective_port, timeout=timeout)
        with client:
            if smtp.security is SmtpSecurity.STARTTLS:
                client.starttls(context=ssl.create_default_context())
            if smtp.username is not None:
                client.login(smtp.username, password or "")
            refused = client.send_message(message)
        return sorted(refused)
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryError(
            f"{where}: {_reply_text(exc) or exc} (check 'security:' in the smtp config)",
            temporary=False,
        ) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(
            f"{where}: authentication as {smtp.username!r} refused: {exc.smtp_code} "
            f"{_reply_text(exc)}",
            temporary=False,
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        details = "; ".join(
            f"{rcpt}: {code} {_decode(text)}" for rcpt, (code, text) in exc.recipients.items()
        )
        raise DeliveryError(
            f"{where}: every recipient refused ({details})", temporary=_all_temporary(codes)
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(
            f"{where}: {exc.smtp_code} {_reply_text(exc)}",
            temporary=400 <= exc.smtp_code < 500,
        ) from None
    except smtplib.SMTPServerDisconnected as exc:
        raise DeliveryError(
            f"{where}: connection closed by the server ({exc or 'no reason given'})",
            temporary=True,
        ) from None
    except TimeoutError:
        raise DeliveryError(f"{where}: timed out after {timeout:g} s", temporary=True) from None
    except ssl.SSLError as exc:
        raise DeliveryError(f"{where}: TLS failed: {exc.reason or exc}", temporary=True) from None
    except OSError as exc:
        raise DeliveryError(
            f"{where}: cannot connect: {exc.strerror or exc}", temporary=True
        ) from None
    except smtplib.SMTPException as exc:
        raise DeliveryError(f"{where}: {exc}", temporary=True) from None


def _reply_text(exc: smtplib.SMTPResponseException | smtplib.SMTPNotSupportedError) -> str:
    error = getattr(exc, "smtp_error", b"")
    return _decode(error)


def _decode(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return " ".join(text.split())


def _all_temporary(codes: Sequence[int]) -> bool:
    return bool(codes) and all(400 <= code < 500 for code in codes)


# -- webhook ----------------------------------------------------------------------------------


def webhook_payload(digest: Digest, body: DigestBody) -> dict[str, object]:
    """What a webhook receives: the digest's identity and its rendered text (fixed at build)."""
    return {
        "digest": digest.channel,
        "id": digest.id,
        "message_id": digest.message_id,
        "period_start": digest.period_start.isoformat() if digest.period_start else None,
        "period_end": digest.period_end.isoformat(),
        "articles": digest.article_count,
        "stories": digest.story_count,
        "subject": body.subject,
        "text": body.text,
        "markdown": body.markdown,
    }


def post_webhook(url: str, payload: dict[str, object], *, timeout: float = 15.0) -> None:
    """POST ``payload`` as JSON to ``url``.

    Raises:
        DeliveryError: not accepted; temporary for network trouble, 408, 429 and 5xx.
    """
    import httpx

    try:
        response = httpx.post(
            url,
            json=payload,
            timeout=timeout,
            headers={"User-Agent": "newswatch", "Idempotency-Key": str(payload.get("message_id"))},
        )
    except httpx.TimeoutException:
        raise DeliveryError(
            f"webhook {url}: timed out after {timeout:g} s", temporary=True
        ) from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook {url}: {exc}", temporary=True) from None
    if response.is_success:
        return
    code = response.status_code
    temporary = code in (408, 429) or code >= 500
    raise DeliveryError(f"webhook {url}: HTTP {code}", temporary=temporary)
