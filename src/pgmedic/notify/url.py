"""The webhook URL as a secret: where it comes from, whether it is usable, how it is shown.

No httpx here (delivery is :mod:`pgmedic.notify.webhook`): the TUI resolves and checks the
URL at start without paying for the HTTP client's import before its first frame.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pgmedic import paths
from pgmedic.errors import InputError
from pgmedic.report.formats import is_loopback


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


def find_webhook(flag: str | None, config: Any = None) -> tuple[str, str] | None:
    """(URL, where it came from), checked; None when none is configured anywhere.

    ``--webhook``, then ``PGMEDIC_WEBHOOK_URL``, then the config file (a
    :class:`pgmedic.config.Config`, or the default file read tolerantly when None)."""
    found = resolve_webhook_url(flag, os.environ)
    if found is None and config is not None:
        url = config.webhook()
        if url:
            found = (url, f"${config.webhook_url_env} (config)"
                     if config.webhook_url_env and os.environ.get(config.webhook_url_env)
                     else "the config file")
        elif config.webhook_url_env:
            name = config.webhook_url_env
            raise InputError(f"the config file names ${name} for the webhook URL, "
                             "but it is not set", f"export {name}=https://... or pass --webhook")
    elif found is None:  # called without cli.main: read the default file tolerantly
        try:
            text = paths.config_file().read_text(encoding="utf-8")
        except (OSError, UnicodeError):
            text = None
        found = resolve_webhook_url(None, os.environ, text)
    if found is None:
        return None
    url, source = found
    try:
        return check_webhook_url(url), source
    except InputError as exc:
        raise InputError(f"{exc.message} (from {source})", exc.hint) from None
