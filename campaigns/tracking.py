"""Tracking links: the signed links in messages (open pixel, click redirect, one-click
unsubscribe).

Every link carries a token signed with its own salt (django.core.signing): a click token holds
the message id and the exact URL to send her to, so the redirect can only ever lead where the
message said (no open redirect), and a forged or altered token is refused before anything is
written. This module signs and reads the tokens and builds the links; what a link or a
provider's report records is a service (`campaigns/services/tracking.py`).
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse

OPEN_SALT = "omni.campaigns.tracking.open"
CLICK_SALT = "omni.campaigns.tracking.click"
UNSUBSCRIBE_SALT = "omni.campaigns.tracking.unsubscribe"
SAFE_SCHEMES = ("http", "https")
# Links in a rendered text: stop at white space, quotes and angle brackets; trailing
# punctuation belongs to the sentence, not to the URL.
LINK = re.compile(r"https?://[^\s<>\"']+")
TRAILING = ".,;:!?)]}"


class ClickLink(NamedTuple):
    message_id: int
    url: str


# --- tokens and links ---------------------------------------------------------------------------


def _public(path: str) -> str:
    return f"{settings.OMNI_PUBLIC_URL}{path}"


def open_token(message_id: int) -> str:
    return signing.dumps(message_id, salt=OPEN_SALT)


def read_open_token(token: str) -> int:
    """The message id of a pixel token; signing.BadSignature if it was not signed by us."""
    message_id = signing.loads(token, salt=OPEN_SALT)
    if isinstance(message_id, bool) or not isinstance(message_id, int):
        raise signing.BadSignature("unexpected payload")
    return message_id


def _safe_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in SAFE_SCHEMES and bool(parts.netloc)


def click_token(message_id: int, url: str) -> str:
    if not _safe_url(url):
        raise ValueError(f"only http(s) links are tracked, not {url!r}")
    return signing.dumps([message_id, url], salt=CLICK_SALT, compress=True)


def read_click_token(token: str) -> ClickLink:
    """The message and the URL signed into a click token; signing.BadSignature otherwise."""
    payload = signing.loads(token, salt=CLICK_SALT)
    if not (isinstance(payload, list) and len(payload) == 2):
        raise signing.BadSignature("unexpected payload")
    message_id, url = payload
    if isinstance(message_id, bool) or not isinstance(message_id, int):
        raise signing.BadSignature("unexpected payload")
    if not isinstance(url, str) or not _safe_url(url):
        raise signing.BadSignature("unsafe url")
    return ClickLink(message_id, url)


def unsubscribe_token(message_id: int) -> str:
    return signing.dumps(message_id, salt=UNSUBSCRIBE_SALT)


def read_unsubscribe_token(token: str) -> int:
    message_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    if isinstance(message_id, bool) or not isinstance(message_id, int):
        raise signing.BadSignature("unexpected payload")
    return message_id


def open_url(message_id: int) -> str:
    return _public(reverse("campaigns:track-open", kwargs={"token": open_token(message_id)}))


def click_url(message_id: int, url: str) -> str:
    token = click_token(message_id, url)
    return _public(reverse("campaigns:track-click", kwargs={"token": token}))


def unsubscribe_url(message_id: int) -> str:
    token = unsubscribe_token(message_id)
    return _public(reverse("campaigns:unsubscribe", kwargs={"token": token}))


def _ours(url: str) -> bool:
    """Our own tracking and unsubscribe links are not wrapped again."""
    public = settings.OMNI_PUBLIC_URL
    return url.startswith((f"{public}/t/", f"{public}/unsubscribe/"))


def track_links(text: str, *, message_id: int) -> str:
    """`text` with every http(s) link replaced by its signed click redirect."""

    def wrap(match: re.Match) -> str:
        found = match.group(0)
        url = found.rstrip(TRAILING)
        tail = found[len(url) :]
        if not url or _ours(url) or not _safe_url(url):
            return found
        return click_url(message_id, url) + tail

    return LINK.sub(wrap, text)
