"""Delivery against a real HTTP server on 127.0.0.1: retries, their bounds, advice, secrecy."""

from __future__ import annotations

import json
import socket
import time

import pytest
from share_incident import SECRET

from pgmedic.errors import EXIT_FAILED, EXIT_USAGE, InputError
from pgmedic.notify.webhook import (
    DeliveryError,
    RetryPolicy,
    check_webhook_url,
    deliver,
    mask_url,
    resolve_webhook_url,
    scrub,
)
from share_receiver import HANG, Receiver

FAST = RetryPolicy(attempts=3, backoff=0.01, max_retry_after=0.5, connect_timeout=1.0,
                   timeout=1.0)
PAYLOAD = {"text": "hello"}


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_posts_once_on_200(receiver: Receiver) -> None:
    d = deliver(receiver.url(), PAYLOAD, policy=FAST, sleep=Sleeps())
    assert (d.status, d.attempts) == (200, 1)
    assert SECRET not in d.destination and d.destination.startswith("http://127.0.0.1:")
    (req,) = receiver.requests
    assert req.json() == PAYLOAD and req.headers["Content-Type"] == "application/json"


def test_429_honours_retry_after_then_succeeds(receiver: Receiver) -> None:
    receiver.reply(429, "slow down", Retry_After="0.2")
    sleeps = Sleeps()
    d = deliver(receiver.url(), PAYLOAD, policy=FAST, sleep=sleeps)
    assert d.attempts == 2 and len(receiver.requests) == 2
    assert sleeps == [0.2]


def test_429_discord_json_retry_after_and_the_cap(receiver: Receiver) -> None:
    receiver.reply(429, json.dumps({"retry_after": 0.3, "global": False}))
    receiver.reply(429, "", Retry_After="3600")
    sleeps = Sleeps()
    deliver(receiver.url(), PAYLOAD, policy=FAST, sleep=sleeps)
    assert sleeps == [0.3, 0.5]  # an hour is capped


def test_persistent_500_is_bounded(receiver: Receiver) -> None:
    receiver.default.status = 500
    sleeps = Sleeps()
    with pytest.raises(DeliveryError) as info:
        deliver(receiver.url(), PAYLOAD, policy=FAST, sleep=sleeps)
    assert len(receiver.requests) == 3 and info.value.attempts == 3
    assert sleeps == [0.01, 0.02]  # exponential backoff between the tries
    assert info.value.exit_code == EXIT_FAILED
    assert "HTTP 500" in info.value.one_line() and SECRET not in info.value.one_line()


def test_5xx_then_200_recovers(receiver: Receiver) -> None:
    receiver.reply(503)
    receiver.reply(502)
    assert deliver(receiver.url(), PAYLOAD, policy=FAST, sleep=Sleeps()).attempts == 3


@pytest.mark.parametrize(("status", "body", "words"), [
    (400, "invalid_payload", "invalid"),
    (410, "channel_is_archived", "archived"),
    (404, "no_service", "revoked"),
    (403, "action_prohibited", "admin"),
    (404, "channel_not_found", "no longer exists"),
    (401, "", "refused"),
])
def test_4xx_not_retried_and_explained(receiver: Receiver, status: int, body: str,
                                       words: str) -> None:
    receiver.reply(status, body)
    with pytest.raises(DeliveryError) as info:
        deliver(receiver.url(), PAYLOAD, policy=FAST, sleep=Sleeps())
    assert len(receiver.requests) == 1
    line = info.value.one_line()
    assert words in line and f"HTTP {status}" in line and SECRET not in line


def test_a_body_echoing_the_url_is_scrubbed(receiver: Receiver) -> None:
    url = receiver.url()
    receiver.reply(400, f"bad request to {url} ({SECRET})")
    with pytest.raises(DeliveryError) as info:
        deliver(url, PAYLOAD, policy=FAST, sleep=Sleeps())
    assert SECRET not in info.value.one_line()


def test_a_hanging_server_times_out_each_attempt(receiver: Receiver) -> None:
    receiver.default.status = HANG
    policy = RetryPolicy(attempts=2, backoff=0.01, connect_timeout=0.5, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as info:
        deliver(receiver.url(), PAYLOAD, policy=policy, sleep=Sleeps())
    assert time.monotonic() - started < 5
    assert len(receiver.requests) == 2
    assert "no answer within 0.3 s" in info.value.one_line()


def test_connection_refused_is_retried_and_bounded() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps = Sleeps()
    with pytest.raises(DeliveryError) as info:
        deliver(f"http://127.0.0.1:{port}/hooks/{SECRET}", PAYLOAD, policy=FAST, sleep=sleeps)
    assert info.value.attempts == 3 and len(sleeps) == 2
    assert "connection failed" in info.value.one_line()
    assert SECRET not in info.value.one_line()


def test_mask_url_shows_scheme_and_host_only() -> None:
    assert mask_url(f"https://hooks.slack.com/services/T0/B0/{SECRET}") == (
        "https://hooks.slack.com/…")
    assert mask_url(f"http://[::1]:8080/x/{SECRET}?token=1") == "http://[::1]:8080/…"
    assert mask_url("not a url") == "<webhook URL>"
    assert SECRET not in scrub(f"error at https://h/x/{SECRET}/y", f"https://h/x/{SECRET}/y")
    assert SECRET not in scrub(f"token {SECRET} leaked", f"https://h/x/{SECRET}")


@pytest.mark.parametrize("url", [
    f"http://hooks.slack.com/services/{SECRET}",  # plain http off loopback
    f"ftp://127.0.0.1/{SECRET}",
    "https://",
    f"https://user:pw@example.com/{SECRET}",
    "http://127.0.0.1:99999/x",
])
def test_bad_urls_are_input_errors(url: str) -> None:
    with pytest.raises(InputError) as info:
        check_webhook_url(url)
    assert info.value.exit_code == EXIT_USAGE
    assert SECRET not in info.value.one_line() and "pw" not in info.value.one_line()


def test_loopback_http_is_allowed() -> None:
    for url in ("http://127.0.0.1/x", "http://127.5.6.7:81/x", "http://[::1]/x",
                "http://localhost:8080/x", "https://example.com/x"):
        assert check_webhook_url(url) == url


def test_where_the_url_comes_from() -> None:
    env = {"PGMEDIC_WEBHOOK_URL": "https://a/env", "TEAM_HOOK": "https://a/config"}
    assert resolve_webhook_url("https://a/flag", env) == ("https://a/flag", "--webhook")
    assert resolve_webhook_url(None, env)[0] == "https://a/env"  # type: ignore[index]
    config = 'webhook_url_env = "TEAM_HOOK"\n'
    assert resolve_webhook_url(None, {"TEAM_HOOK": "https://a/c"}, config) == (
        "https://a/c", "$TEAM_HOOK (config)")
    assert resolve_webhook_url(None, {"X": "https://a/s"}, '[share]\nwebhook_url_env = "X"\n')
    assert resolve_webhook_url(None, {}, "this is = not [toml") is None
    assert resolve_webhook_url(None, {}, "other = 1\n") is None
    with pytest.raises(InputError):
        resolve_webhook_url(None, {}, config)
