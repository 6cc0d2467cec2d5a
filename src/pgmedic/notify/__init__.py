"""Webhook delivery (the only place that imports httpx): retries, errors, a secret URL.

The URL half (:mod:`pgmedic.notify.url`) imports no httpx; the delivery half is loaded on
first use, so resolving or masking a URL never pays for the HTTP client.
"""

from __future__ import annotations

from typing import Any

from pgmedic.notify.url import check_webhook_url, find_webhook, mask_url, resolve_webhook_url, scrub

_DELIVERY = ("Delivery", "DeliveryError", "RetryPolicy", "deliver")

__all__ = ["Delivery", "DeliveryError", "RetryPolicy", "check_webhook_url", "deliver",
           "find_webhook", "mask_url", "resolve_webhook_url", "scrub"]


def __getattr__(name: str) -> Any:
    if name in _DELIVERY:
        from pgmedic.notify import webhook

        return getattr(webhook, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
