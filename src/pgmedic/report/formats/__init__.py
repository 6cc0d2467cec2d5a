"""The summary rendered for each destination, and which destination a webhook URL is.

``render(summary, fmt)`` returns the JSON payload for ``fmt`` (one of :data:`FORMATS`);
``markdown(summary)`` the postmortem report; ``visible_text(payload, fmt)`` the text a
reader of the channel will see, for previews. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from pgmedic.report.formats.chat import discord, mattermost, plain_json, slack, teams
from pgmedic.report.formats.markdown import markdown
from pgmedic.report.summary import Summary

RENDERERS: dict[str, Callable[[Summary], dict[str, Any]]] = {
    "slack": slack,
    "mattermost": mattermost,
    "discord": discord,
    "teams": teams,
    "json": plain_json,
}
FORMATS = tuple(RENDERERS)

__all__ = ["FORMATS", "RENDERERS", "detect_format", "is_loopback", "markdown", "render",
           "visible_text"]


def render(summary: Summary, fmt: str) -> dict[str, Any]:
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}") from None
    return renderer(summary)


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def detect_format(url: str) -> str:
    """The payload format a webhook URL expects, from its host and path.

    hooks.slack.com -> slack; discord.com / discordapp.com ``/api/webhooks/`` -> discord;
    ``*.webhook.office.com``, ``*.logic.azure.com``, Power Automate / Power Platform hosts ->
    teams; a ``/hooks/`` path on any other host -> mattermost; anything else (loopback
    receivers included) -> json.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path
    if host == "hooks.slack.com" or host.endswith(".hooks.slack.com"):
        return "slack"
    if (host in ("discord.com", "discordapp.com", "canary.discord.com", "ptb.discord.com")
            and path.startswith("/api/webhooks/")):
        return "discord"
    if (host.endswith(".webhook.office.com") or host.endswith(".logic.azure.com")
            or "powerautomate" in host or host.endswith(".powerplatform.com")):
        return "teams"
    if is_loopback(host):
        return "json"
    if "/hooks/" in path + "/":
        return "mattermost"
    return "json"


def _texts(value: Any, keys: tuple[str, ...]) -> list[str]:
    """Strings under ``keys`` anywhere in a payload, in document order."""
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k in keys and isinstance(v, str):
                out.append(v)
            else:
                out.extend(_texts(v, keys))
    elif isinstance(value, list):
        for v in value:
            out.extend(_texts(v, keys))
    return out


def visible_text(payload: dict[str, Any], fmt: str) -> str:
    """What the channel shows, as plain text (markup left as posted), for previews."""
    if fmt == "json":
        import json

        return json.dumps(payload, indent=2, ensure_ascii=False)
    if fmt == "slack":
        return "\n\n".join(_texts(payload.get("blocks", []), ("text",)))
    if fmt == "discord":
        parts = [str(payload.get("content", ""))]
        for embed in payload.get("embeds", []):
            parts += [embed.get("title", ""), embed.get("description", "")]
            parts += [f"{f['name']}\n{f['value']}" for f in embed.get("fields", [])]
            parts.append(embed.get("footer", {}).get("text", ""))
        return "\n\n".join(p for p in parts if p)
    if fmt == "mattermost":
        parts = [str(payload.get("text", ""))]
        for att in payload.get("attachments", []):
            parts += [f"{f['title']}\n{f['value']}" for f in att.get("fields", [])]
            parts.append(att.get("footer", ""))
        return "\n\n".join(p for p in parts if p)
    return "\n\n".join(_texts(payload, ("text",)))
