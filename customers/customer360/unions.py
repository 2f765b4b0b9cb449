"""One query for several kinds of timeline entries: a UNION ALL of same-shaped rows.

A source that draws entries from several tables (or several dates of one row: a message sent,
opened, clicked) builds one `part` per kind and lets `newest_rows` run them as one
`(... ORDER BY at DESC LIMIT n) UNION ALL (...) ORDER BY at DESC LIMIT n`: each part reads at most
`n` rows through its index, whatever the customer's history.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import F, IntegerField, QuerySet, TextField, Value
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast

COLUMNS = ("tl_at", "tl_kind", "tl_channel", "tl_a", "tl_b", "tl_c", "tl_ref")


def _text(value: str | Combinable | None, *, field: bool) -> Combinable:
    if value is None or value == "":
        return Value("", output_field=TextField())
    if isinstance(value, str):
        return Cast(F(value), TextField()) if field else Value(value, output_field=TextField())
    return Cast(value, TextField())


def part(
    queryset: QuerySet,
    *,
    at: str,
    kind: str,
    channel: str | Combinable,
    a: str | Combinable | None = None,
    b: str | Combinable | None = None,
    c: str | Combinable | None = None,
    ref: str = "pk",
) -> QuerySet:
    """The rows of `queryset` shaped as timeline rows; a, b, c name fields (or expressions)."""
    channel_expression = channel if not isinstance(channel, str) else F(channel)
    return (
        queryset.order_by()
        .annotate(
            tl_at=F(at),
            tl_kind=Value(kind, output_field=TextField()),
            tl_channel=Cast(channel_expression, TextField()),
            tl_a=_text(a, field=True),
            tl_b=_text(b, field=True),
            tl_c=_text(c, field=True),
            tl_ref=Cast(F(ref), IntegerField()),
        )
        .filter(**{f"{at}__isnull": False})
        .values(*COLUMNS)
    )


def newest_rows(parts: Sequence[QuerySet], *, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` rows of all parts, newest first, in one query (none if no part)."""
    limited = [p.order_by("-tl_at", "-tl_ref")[:limit] for p in parts]
    if not limited:
        return []
    if len(limited) == 1:
        return list(limited[0])
    first, *others = limited
    return list(first.union(*others, all=True).order_by("-tl_at", "-tl_ref")[:limit])
