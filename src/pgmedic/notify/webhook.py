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

import httpx

from pgmedic.errors import EXIT_FAILED, PgmedicError
from pgmedic.notify.url import check_webhook_url as check_webhook_url  # re-exported
from pgmedic.notify.url import mask_url as mask_url
from pgmedic.notify.url import resolve_webhook_url as resolve_webhook_url
from pgmedic.notify.url import scrub as scrub
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
