"""feedclient: the client library that the examples suite tests (see ``client.py``)."""

from .client import (
    RETRYABLE_STATUSES,
    SUBPROTOCOL,
    Backoff,
    Event,
    FeedClient,
    FeedError,
    FeedRejected,
    FeedUnavailable,
)

__all__ = [
    "RETRYABLE_STATUSES",
    "SUBPROTOCOL",
    "Backoff",
    "Event",
    "FeedClient",
    "FeedError",
    "FeedRejected",
    "FeedUnavailable",
]
