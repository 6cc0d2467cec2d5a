"""Webhook delivery (the only place that imports httpx): retries, errors, a secret URL."""

from pgmedic.notify.webhook import (
    Delivery,
    DeliveryError,
    RetryPolicy,
    check_webhook_url,
    deliver,
    mask_url,
    resolve_webhook_url,
    scrub,
)

__all__ = ["Delivery", "DeliveryError", "RetryPolicy", "check_webhook_url", "deliver",
           "mask_url", "resolve_webhook_url", "scrub"]
