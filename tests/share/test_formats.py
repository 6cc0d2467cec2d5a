"""Payloads per format: structure, platform limits with a huge input, hostile names inert."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from share_incident import HOSTILE, incident, incident_events
from test_summary import snapshot

from pgmedic.report.formats import FORMATS, detect_format, markdown, render, visible_text
from pgmedic.report.summary import Summary, build_summary
from pgmedic.report.timeline import ACTION, FINDING, Event, Timeline


def huge() -> Summary:
    events = incident_events(app="x" * 5000, operator="o" * 3000)
    events += [Event(2000.0 + i, FINDING, f"f{i}", {"step_id": f"step-{i}", "verdict": "warn",
                                                    "summary": "*" * 900})
               for i in range(120)]
    events += [Event(3000.0 + i, ACTION, "t", {"app": "<!channel>" * 50, "counts":
                                               {"terminated": i}, "refill": True})
               for i in range(200)]
    s = build_summary(Timeline("big" * 100, events), snapshot(), note="n" * 10_000,
                      include_queries=True)
    return dataclasses.replace(s, next_steps=tuple("step " * 500 for _ in range(60)))


def test_detect_format() -> None:
    assert detect_format("https://hooks.slack.com/services/T/B/x") == "slack"
    assert detect_format("https://discord.com/api/webhooks/1/abc") == "discord"
    assert detect_format("https://acme.webhook.office.com/webhookb2/x") == "teams"
    assert detect_format("https://prod-01.westus.logic.azure.com:443/workflows/x") == "teams"
    assert detect_format("https://chat.acme.io/hooks/abc123") == "mattermost"
    assert detect_format("http://127.0.0.1:8080/hooks/abc") == "json"
    assert detect_format("https://example.com/whatever") == "json"


def test_slack_block_kit() -> None:
    p = render(build_summary(incident(), snapshot()), "slack")
    assert p["text"] and p["blocks"][0]["type"] == "header"
    kinds = {b["type"] for b in p["blocks"]}
    assert kinds <= {"header", "section", "context"}
    text = visible_text(p, "slack")
    assert "checkout-api holds 90 connections" in text
    assert "40 of 42" in text and "40 slots freed" in text and "refill" in text
    assert "pool size that fits: 5" in text


def test_discord_embeds_allow_no_mentions() -> None:
    p = render(build_summary(incident(), snapshot()), "discord")
    assert p["allowed_mentions"] == {"parse": []}
    assert len(p["embeds"]) == 1 and p["embeds"][0]["fields"]


def test_teams_adaptive_card_envelope() -> None:
    p = render(build_summary(incident(), snapshot()), "teams")
    assert p["type"] == "message"
    (att,) = p["attachments"]
    assert att["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert att["content"]["type"] == "AdaptiveCard"
    assert all(b["type"] == "TextBlock" for b in att["content"]["body"])


def test_mattermost_is_slack_compatible() -> None:
    p = render(build_summary(incident(), snapshot()), "mattermost")
    assert p["text"] and p["attachments"][0]["fields"]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_limits_hold_for_a_huge_incident() -> None:
    s = huge()
    slack = render(s, "slack")
    assert len(slack["blocks"]) <= 50 and len(slack["text"]) <= 3000
    for b in slack["blocks"]:
        if b["type"] == "header":
            assert len(b["text"]["text"]) <= 150
        if "text" in b:
            assert len(b["text"]["text"]) <= 3000
        assert len(b.get("fields", [])) <= 10
        assert all(len(f["text"]) <= 2000 for f in b.get("fields", []))
    assert "(truncated)" in json.dumps(slack, ensure_ascii=False)

    discord = render(s, "discord")
    assert len(discord["content"]) <= 2000 and len(discord["embeds"]) <= 10
    e = discord["embeds"][0]
    assert len(e["title"]) <= 256 and len(e["description"]) <= 4096
    assert len(e["fields"]) <= 25
    assert all(len(f["name"]) <= 256 and 0 < len(f["value"]) <= 1024 for f in e["fields"])
    total = (len(e["title"]) + len(e["description"]) + len(e["footer"]["text"])
             + sum(len(f["name"]) + len(f["value"]) for f in e["fields"]))
    assert total <= 6000

    assert len(json.dumps(render(s, "teams"))) < 28_000
    assert len(json.dumps(render(s, "mattermost"))) < 16_000
    for fmt in FORMATS:
        json.loads(json.dumps(render(s, fmt)))
    assert markdown(s)


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("fmt", ["slack", "mattermost", "discord", "teams"])
def test_hostile_names_are_inert(fmt: str, name: str) -> None:
    s = build_summary(incident(app=name, operator=name), snapshot(), note=name)
    strings = _strings(render(s, fmt))
    joined = "\n".join(strings)
    assert "\x1b" not in joined and "\x07" not in joined
    for active in ("<!channel>", "<!here>", "<@U123>", "@here", "@channel", "@everyone",
                   "[click](", "*x*", "_x_", "`x`", "~x~"):
        if fmt == "slack" and active == "[click](":
            continue  # no Markdown links in mrkdwn (its links are <url|label>, escaped)
        assert active not in joined, (fmt, active)
    if fmt in ("slack", "mattermost"):
        assert "<!" not in joined and "<@" not in joined


def test_markdown_report_escapes_and_lists_checklist() -> None:
    s = build_summary(incident(app="*x* <b>"), snapshot())
    md = markdown(s)
    assert "\\*x\\* &lt;b&gt;" in md and "<b>" not in md
    assert "- [x] One shared pool per process" in md
    assert "- [ ] Pool size from PG\\_POOL\\_MAX\\_SIZE" in md
