"""Reads of the 360° view: the panels every app contributes and the one merged timeline.

The staff screen and the admin both call `customer_panels` and `customer_timeline`: what an agent
sees in the admin is what a salesperson sees in the store.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from itertools import islice

from customers.customer360.registry import (
    Panel,
    TimelineEntry,
    TimelineQuery,
    Viewer,
    sections,
    timeline_sources,
)
from customers.models import Customer

PAGE_SIZE = 25


@dataclass(frozen=True)
class TimelinePage:
    entries: tuple[TimelineEntry, ...]
    number: int
    has_next: bool
    kinds: tuple[str, ...]  # the filters applied (empty: all)
    channels: tuple[str, ...]

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_number(self) -> int:
        return self.number + 1

    @property
    def previous_number(self) -> int:
        return self.number - 1


def customer_panels(*, customer: Customer, viewer: Viewer) -> list[Panel]:
    """Every registered panel for this customer, in page order."""
    panels: list[Panel] = []
    for section in sections():
        built = section.build(customer, viewer)
        panels.extend([built] if isinstance(built, Panel) else built)
    return panels


def customer_timeline(
    *,
    customer: Customer,
    viewer: Viewer,
    page: int = 1,
    kinds: frozenset[str] = frozenset(),
    channels: frozenset[str] = frozenset(),
    page_size: int = PAGE_SIZE,
) -> TimelinePage:
    """One page of the merged timeline, newest first.

    Each source returns at most the newest `offset + page_size + 1` entries in one query, so a
    page costs one query per source whatever the customer's history; the extra entry tells
    whether there is a next page.
    """
    page = max(page, 1)
    offset = (page - 1) * page_size
    query = TimelineQuery(
        customer=customer,
        viewer=viewer,
        limit=offset + page_size + 1,
        kinds=kinds,
        channels=channels,
    )
    streams = []
    for source in timeline_sources():
        entries = [
            entry
            for entry in source.fetch(query)
            if (not kinds or entry.kind in kinds) and (not channels or entry.channel in channels)
        ]
        streams.append(sorted(entries, key=lambda entry: entry.at, reverse=True))
    merged = list(
        islice(heapq.merge(*streams, key=lambda entry: entry.at, reverse=True), query.limit)
    )
    return TimelinePage(
        entries=tuple(merged[offset : offset + page_size]),
        number=page,
        has_next=len(merged) > offset + page_size,
        kinds=tuple(sorted(kinds)),
        channels=tuple(sorted(channels)),
    )


def timeline_choices() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The kinds and the channels the timeline can be filtered by, as (value, label) pairs."""
    kinds: dict[str, str] = {}
    channels: dict[str, str] = {}
    for source in timeline_sources():
        kinds.update((value, str(label)) for value, label in source.kinds)
        for value, label in source.channels:
            channels.setdefault(value, str(label))
    return list(kinds.items()), list(channels.items())


def channel_labels() -> dict[str, str]:
    return dict(timeline_choices()[1])
