"""Posting a payload to a chat webhook: bounded time, bounded retries, and a secret URL.

- Timeouts: 5 s to connect, and a deadline of ``timeout`` (15 s) per attempt over the whole
  exchange (a server that trickles its answer does not hold us longer).
- 429: waits ``Retry-After`` (seconds or an HTTP date; Discord's JSON ``retry_after``), capped
  by ``max_retry_after``. 5xx, timeouts and connection errors: retried with exponential
  backoff. Both within ``attempts`` tries in all. Other 4xx: not retried, explained (Slack's
  error bodies mapped to advice).
- The URL is a secret (its path is the credential): it is shown only as :func:`mask_url`,
  and every message that could embed it (httpx exceptions, response bodies) is scrubbed.
  httpx's own request logging is switched off for the same reason.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from pgmedic.errors import EXIT_FAILED, InputError, PgmedicError
from pgmedic.report.formats import is_loopback
from pgmedic.untrusted import printable

# httpx logs every request line (URL included) at INFO: never let that reach a log
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)

MAX_BODY = 64 * 1024


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 3  # tries in all, 429 and 5xx alike
    backoff: float = 1.0  # seconds before the 2nd try; doubled each time
    max_backoff: float = 8.0
    max_retry_after: float = 30.0  # cap on a server's Retry-After
    connect_timeout: float = 5.0
    timeout: float = 15.0  # deadline for one whole attempt


@dataclass(frozen=True, slots=True)
class Delivery:
    status: int
    attempts: int
    destination: str  # masked


class DeliveryError(PgmedicError):
    """The post did not arrive. The message never holds the URL."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None, *, status: int | None = None,
                 attempts: int = 0, retryable: bool = False) -> None:
        super().__init__(message, hint)
        self.status = status
        self.attempts = attempts
        self.retryable = retryable


# -- the URL as a secret ------------------------------------------------------------------
def mask_url(url: str) -> str:
    """``https://hooks.slack.com/…``: scheme and host only, never path, query or userinfo."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<webhook URL>"
    if not parts.scheme or not host:
        return "<webhook URL>"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}/…"


def scrub(text: str, url: str) -> str:
    """``text`` with the URL, and any long piece of its path or query, replaced by the mask."""
    if not url:
        return text
    text = text.replace(url, mask_url(url))
    try:
        parts = urlsplit(url)
    except ValueError:
        return text
    secrets = [parts.path, parts.query, parts.netloc if "@" in parts.netloc else ""]
    secrets += [seg for seg in parts.path.split("/") if len(seg) >= 6]
    for secret in sorted((s for s in secrets if len(s) >= 6), key=len, reverse=True):
        text = text.replace(secret, "/…")
    return text


def check_webhook_url(url: str) -> str:
    """The URL, stripped, if it is usable: https, or http to a loopback host. Else InputError."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        raise InputError("the webhook URL is malformed",
                         "give the full https:// URL the chat service created") from None
    if parts.scheme not in ("https", "http") or not host:
        raise InputError(f"the webhook URL {mask_url(url)} is not an https:// URL",
                         "give the full https:// URL the chat service created")
    if parts.scheme == "http" and not is_loopback(host):
        raise InputError(f"the webhook URL {mask_url(url)} is plain http",
                         "webhook URLs are secrets: use https (http only for a local receiver)")
    if parts.username or parts.password:
        raise InputError(f"the webhook URL {mask_url(url)} holds a user name or password",
                         "webhook URLs carry their secret in the path; drop the user:password@")
    return url


def resolve_webhook_url(flag: str | None, environ: Mapping[str, str],
                        config_text: str | None = None) -> tuple[str, str] | None:
    """(url, where it came from): ``--webhook``, ``PGMEDIC_WEBHOOK_URL``, or the config file's
    ``webhook_url_env = "NAME"`` (top level or under ``[share]``) naming an environment
    variable. A config file that does not parse is ignored here (the lead's config loader
    reports it)."""
    if flag:
        return flag, "--webhook"
    if environ.get("PGMEDIC_WEBHOOK_URL"):
        return environ["PGMEDIC_WEBHOOK_URL"], "PGMEDIC_WEBHOOK_URL"
    if not config_text:
        return None
    import tomllib

    try:
        config = tomllib.loads(config_text)
    except (tomllib.TOMLDecodeError, UnicodeError):
        return None
    for table in (config, config.get("share"), config.get("webhook")):
        if isinstance(table, dict):
            name = table.get("webhook_url_env")
            if isinstance(name, str) and name:
                value = environ.get(name)
                if not value:
                    raise InputError(f"the config file names ${name} for the webhook URL, "
                                     "but it is not set",
                                     f"export {name}=https://... or pass --webhook")
                return value, f"${name} (config)"
    return None


# -- delivery -----------------------------------------------------------------------------
_SLACK_ERRORS: dict[str, tuple[str, str]] = {
    "invalid_payload": ("the chat service rejected the payload as invalid",
                        "this is a pgmedic bug: please report it; post the saved Markdown "
                        "by hand meanwhile"),
    "channel_is_archived": ("the webhook's channel is archived",
                            "unarchive it, or create a webhook for the live incident channel"),
    "channel_not_found": ("the webhook's channel no longer exists",
                          "create a webhook for the incident channel"),
    "no_service": ("the webhook was revoked or disabled",
                   "create a new incoming webhook and update PGMEDIC_WEBHOOK_URL"),
    "invalid_token": ("the webhook token is invalid (revoked hook)",
                      "create a new incoming webhook and update PGMEDIC_WEBHOOK_URL"),
    "no_active_hooks": ("the webhook was revoked or disabled",
                        "create a new incoming webhook and update PGMEDIC_WEBHOOK_URL"),
    "action_prohibited": ("a workspace admin restricts posting to this channel",
                          "ask an admin, or use another channel's webhook"),
    "posting_to_general_channel_denied": ("posting to that channel is restricted",
                                          "use another channel's webhook"),
    "too_many_attachments": ("the payload has too many attachments",
                             "this is a pgmedic bug: please report it"),
}

_STATUS_HINTS: dict[int, tuple[str, str]] = {
    400: ("the chat service rejected the payload", "check --format matches the service"),
    401: ("the webhook refused the credentials", "the hook may be revoked: create a new one"),
    403: ("the webhook refused the post", "the hook may be revoked or restricted"),
    404: ("no webhook at that address (revoked or mistyped)", "check the URL, or create a "
          "new webhook"),
    410: ("the webhook is gone (archived channel or deleted hook)", "create a new webhook"),
    413: ("the payload is too large for the chat service", "please report it"),
}


def _body_reason(body: bytes, url: str) -> str:
    text = body.decode("utf-8", "replace").strip()
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        text = str(obj.get("message") or obj.get("error") or obj.get("text") or text)
    text = printable(" ".join(text.split()))
    text = scrub(text, url)
    return text[:200] + ("…" if len(text) > 200 else "")


def explain(status: int, body: bytes, url: str) -> tuple[str, str]:
    """(message, hint) for a refused post, without the URL."""
    reason = _body_reason(body, url)
    key = reason.split()[0].lower() if reason else ""
    if key in _SLACK_ERRORS:
        message, hint = _SLACK_ERRORS[key]
        return f"{message} (HTTP {status}: {key})", hint
    message, hint = _STATUS_HINTS.get(
        status, ("the chat service refused the post", "check the webhook URL and --format"))
    detail = f": {reason}" if reason else ""
    return f"{message} (HTTP {status}{detail})", hint


def retry_after(response_headers: httpx.Headers, body: bytes, cap: float) -> float | None:
    """Seconds to wait before retrying a 429, capped; None when the server says nothing."""
    wait: float | None = None
    raw = response_headers.get("retry-after")
    if raw:
        try:
            wait = float(raw)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(raw)
                wait = when.timestamp() - time.time()
            except (TypeError, ValueError, IndexError):
                wait = None
    if wait is None:
        try:
            obj = json.loads(body.decode("utf-8", "replace"))
            if isinstance(obj, dict) and isinstance(obj.get("retry_after"), int | float):
                wait = float(obj["retry_after"])
        except ValueError:
            pass
    if wait is None or wait != wait:
        return None
    return max(0.0, min(wait, cap))


def _describe(exc: httpx.HTTPError, policy: RetryPolicy) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return f"no connection within {policy.connect_timeout:g} s"
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {policy.timeout:g} s"
    if isinstance(exc, httpx.ConnectError):
        return "connection failed"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the server closed the connection"
    return type(exc).__name__


class _Deadline(Exception):
    pass


def _attempt(client: httpx.Client, url: str, content: bytes,
             policy: RetryPolicy) -> tuple[int, httpx.Headers, bytes]:
    deadline = time.monotonic() + policy.timeout
    with client.stream("POST", url, content=content,
                       headers={"Content-Type": "application/json"}) as response:
        body = b""
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_BODY:
                break
            if time.monotonic() > deadline:
                raise _Deadline
        return response.status_code, response.headers, body


def deliver(url: str, payload: Mapping[str, Any], *, policy: RetryPolicy | None = None,
            sleep: Callable[[float], None] = time.sleep,
            transport: httpx.BaseTransport | None = None) -> Delivery:
    """POST ``payload`` as JSON; return how it went or raise :class:`DeliveryError`."""
    policy = policy or RetryPolicy()
    url = check_webhook_url(url)
    where = mask_url(url)
    content = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    timeout = httpx.Timeout(policy.timeout, connect=min(policy.connect_timeout, policy.timeout))
    last = "no attempt made"
    attempts = max(1, policy.attempts)
    delay = policy.backoff
    with httpx.Client(timeout=timeout, follow_redirects=False, transport=transport,
                      headers={"User-Agent": "pgmedic"}) as client:
        for attempt in range(1, attempts + 1):
            wait = min(delay, policy.max_backoff)
            try:
                status, headers, body = _attempt(client, url, content, policy)
            except _Deadline:
                last = f"no complete answer within {policy.timeout:g} s"
            except httpx.HTTPError as exc:
                last = _describe(exc, policy)
            except (httpx.InvalidURL, ValueError, UnicodeError):
                raise DeliveryError(f"{where}: the webhook URL is malformed",
                                    "check the webhook URL", attempts=attempt) from None
            else:
                if 200 <= status < 300:
                    return Delivery(status=status, attempts=attempt, destination=where)
                if status == 429:
                    asked = retry_after(headers, body, policy.max_retry_after)
                    wait = asked if asked is not None else wait
                    last = "rate limited (HTTP 429)"
                elif status >= 500:
                    last = f"server error (HTTP {status})"
                else:
                    message, hint = explain(status, body, url)
                    raise DeliveryError(f"{where}: {message}", hint, status=status,
                                        attempts=attempt)
            if attempt < attempts:
                sleep(wait)
                delay *= 2
    raise DeliveryError(f"{where}: {last}, after {attempts} attempts",
                        "the chat service is unreachable or failing; try again later",
                        attempts=attempts, retryable=True)
