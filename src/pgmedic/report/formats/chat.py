"""Chat payloads: Slack (Block Kit), Mattermost (Slack-compatible), Discord (embeds), Teams
(Workflows: an Adaptive Card in a message envelope) and plain JSON.

Every renderer respects its platform's limits by truncating with a visible marker, never by
failing: Slack 50 blocks, header 150, section text 3000, fields 10 x 2000; Discord content
2000, 10 embeds, 6000 characters over all embeds, title 256, description 4096, 25 fields of
256/1024, footer 2048; Mattermost and Teams kept well below their message size limits.
"""

from __future__ import annotations

from typing import Any

from pgmedic.report import escape
from pgmedic.report.escape import TRUNCATED, truncate
from pgmedic.report.formats._sections import (
    COLOR,
    footer,
    headline,
    iso,
    level_text,
    sections,
    severity,
    title,
)
from pgmedic.report.summary import Summary

SLACK_BLOCKS = 50
SLACK_HEADER = 150
SLACK_TEXT = 3000
SLACK_FIELDS = 10
SLACK_FIELD = 2000

DISCORD_CONTENT = 2000
DISCORD_TOTAL = 6000
DISCORD_TITLE = 256
DISCORD_DESCRIPTION = 4096
DISCORD_FIELDS = 25
DISCORD_FIELD_NAME = 256
DISCORD_FIELD_VALUE = 1024
DISCORD_FOOTER = 2048

MATTERMOST_TOTAL = 12000  # the server's limit is 16383 characters per post
MATTERMOST_FIELD = 3000
TEAMS_TEXTBLOCK = 2000
TEAMS_TOTAL = 16000  # Teams refuses messages over about 28 KB


def slack(summary: Summary) -> dict[str, Any]:
    esc = escape.slack
    blocks: list[dict[str, Any]] = [{
        "type": "header",
        "text": {"type": "plain_text",
                 "text": truncate("🚨 " + title(summary, escape.slack_plain), SLACK_HEADER),
                 "emoji": True},
    }]
    secs = sections(summary, esc)
    saturation = next((s for s in secs if s.title == "Saturation"), None)
    for sec in secs:
        if sec is saturation:
            fields = [{"type": "mrkdwn", "text": truncate(f"*{label}*\n{level_text(lvl)}",
                                                          SLACK_FIELD)}
                      for label, lvl in (("Before", summary.before), ("Now", summary.now))]
            blocks.append({"type": "section", "fields": fields[:SLACK_FIELDS]})
            continue
        blocks.append({"type": "section", "text": {
            "type": "mrkdwn", "text": truncate(f"*{sec.title}*\n{sec.text()}", SLACK_TEXT)}})
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": truncate(footer(summary, esc), SLACK_TEXT)}]})
    if len(blocks) > SLACK_BLOCKS:
        blocks = blocks[: SLACK_BLOCKS - 1] + [
            {"type": "section", "text": {"type": "mrkdwn", "text": TRUNCATED}}]
    text = truncate(f"{title(summary, esc)}: {headline(summary, esc)}", SLACK_TEXT)
    return {"text": text, "blocks": blocks}


def mattermost(summary: Summary) -> dict[str, Any]:
    esc = escape.mattermost
    secs = sections(summary, esc)
    per_field = min(MATTERMOST_FIELD, MATTERMOST_TOTAL // max(1, len(secs)))
    fields = [{"title": sec.title, "value": truncate(sec.text(), per_field), "short": False}
              for sec in secs]
    head = headline(summary, esc)
    return {
        "username": "pgmedic",
        "text": truncate(f"#### {title(summary, esc)}\n{head}", MATTERMOST_FIELD),
        "attachments": [{
            "fallback": truncate(head, MATTERMOST_FIELD),
            "color": f"#{COLOR[severity(summary)]:06x}",
            "fields": fields,
            "footer": truncate(footer(summary, esc), 1000),
        }],
    }


def _discord_size(embed: dict[str, Any]) -> int:
    fields = embed.get("fields", [])
    return (len(embed.get("title", "")) + len(embed.get("description", ""))
            + len(embed.get("footer", {}).get("text", ""))
            + sum(len(f["name"]) + len(f["value"]) for f in fields))


def discord(summary: Summary) -> dict[str, Any]:
    esc = escape.discord
    secs = sections(summary, esc)
    first, rest = secs[: 1], secs[1:]
    description = "\n".join(f"**{s.title}**\n{s.text()}" for s in first)
    fields = [{"name": truncate(sec.title, DISCORD_FIELD_NAME),
               "value": truncate(sec.text(), DISCORD_FIELD_VALUE) or "-", "inline": False}
              for sec in rest]
    if len(fields) > DISCORD_FIELDS:
        fields = fields[: DISCORD_FIELDS - 1] + [
            {"name": "More", "value": TRUNCATED, "inline": False}]
    embed: dict[str, Any] = {
        "title": truncate(title(summary, esc), DISCORD_TITLE),
        "description": truncate(description, DISCORD_DESCRIPTION),
        "color": COLOR[severity(summary)],
        "fields": fields,
        "footer": {"text": truncate(footer(summary, esc), DISCORD_FOOTER)},
        "timestamp": iso(summary.generated_at),
    }
    # the 6000-character budget over the whole embed: shrink the longest parts first
    margin = 50
    while _discord_size(embed) > DISCORD_TOTAL - margin:
        excess = _discord_size(embed) - (DISCORD_TOTAL - margin)
        parts = [f for f in embed["fields"] if len(f["value"]) > 200]
        if parts:
            longest = max(parts, key=lambda f: len(f["value"]))
            longest["value"] = truncate(longest["value"], max(200, len(longest["value"]) - excess))
        elif len(embed["description"]) > 200:
            embed["description"] = truncate(embed["description"],
                                            max(200, len(embed["description"]) - excess))
        elif embed["fields"]:
            embed["fields"].pop()
        else:
            embed["description"] = truncate(embed["description"], 100)
            embed["title"] = truncate(embed["title"], 100)
            break
    return {
        "username": "pgmedic",
        "content": truncate(headline(summary, esc), DISCORD_CONTENT),
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    }


def teams(summary: Summary) -> dict[str, Any]:
    esc = escape.teams
    secs = sections(summary, esc, bullet="- ")
    per_block = min(TEAMS_TEXTBLOCK, TEAMS_TOTAL // max(1, len(secs)))
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": truncate(title(summary, esc), 300), "size": "Large",
         "weight": "Bolder", "wrap": True},
        {"type": "TextBlock", "text": truncate(headline(summary, esc), 1000), "wrap": True,
         "isSubtle": True},
    ]
    for sec in secs:
        body.append({"type": "TextBlock", "text": sec.title, "weight": "Bolder",
                     "wrap": True, "spacing": "Medium"})
        body.append({"type": "TextBlock", "text": truncate(sec.text("\n\n"), per_block),
                     "wrap": True})
    body.append({"type": "TextBlock", "text": truncate(footer(summary, esc), 500),
                 "isSubtle": True, "size": "Small", "wrap": True})
    return {
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": None,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "msteams": {"width": "Full"},
                "body": body,
            },
        }],
    }


def plain_json(summary: Summary) -> dict[str, Any]:
    """The summary's data as it is (JSON encoding is the only escaping a JSON consumer needs)."""
    return {"text": f"{title(summary, escape.plain)}: {headline(summary, escape.plain)}",
            "summary": summary.to_dict()}
