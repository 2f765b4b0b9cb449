"""What each app contributes to the 360° view: panels and timeline sources.

Customers sits below orders and campaigns (docs/architecture.md), so it cannot read their rows. Each
app registers, from its AppConfig.ready, a `Section` (a panel of the page) and a `TimelineSource`
(its entries on the one timeline). The page and the admin both render what the registry returns.

Panels are plain data (facts, tables, links): the templates render any app's panel without
knowing its models. A section must run a fixed number of queries whatever the customer holds; a
timeline source must run at most one (ORDER BY ... LIMIT `query.limit`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from customers.models import Customer


@dataclass(frozen=True)
class Viewer:
    """Who reads the view, and where: sections show actions only where she may act."""

    user: AbstractBaseUser
    screen: str = "staff"  # an AccessScreen

    def has_perm(self, permission: str) -> bool:
        return self.user.has_perm(permission)


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]
    links: tuple[Link, ...] = ()


@dataclass(frozen=True)
class Table:
    caption: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    empty: str = ""

    @property
    def has_links(self) -> bool:
        return any(row.links for row in self.rows)


@dataclass(frozen=True)
class Panel:
    """One panel of the page. `data` keeps the typed values behind it (tests, an API)."""

    key: str
    title: str
    facts: tuple[Fact, ...] = ()
    tables: tuple[Table, ...] = ()
    links: tuple[Link, ...] = ()
    note: str = ""
    data: Any = None


@dataclass(frozen=True)
class Section:
    key: str
    order: int  # position on the page, smallest first
    build: Callable[[Customer, Viewer], Panel | Sequence[Panel]]


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    channel: str
    title: str
    detail: str = ""
    url: str = ""


@dataclass(frozen=True)
class TimelineQuery:
    """The newest `limit` entries of one customer, of these kinds and channels (empty: all)."""

    customer: Customer
    viewer: Viewer
    limit: int
    kinds: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()

    def wants(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds

    def wants_any(self, kinds: Sequence[str]) -> bool:
        return any(self.wants(kind) for kind in kinds)


@dataclass(frozen=True)
class TimelineSource:
    key: str
    kinds: tuple[tuple[str, str], ...]  # (value, label) of the kinds it produces
    channels: tuple[tuple[str, str], ...]  # (value, label) of the channels its entries carry
    fetch: Callable[[TimelineQuery], list[TimelineEntry]] = field(compare=False)


_SECTIONS: dict[str, Section] = {}
_SOURCES: dict[str, TimelineSource] = {}


def register_section(section: Section) -> Section:
    """Add a panel to the 360° view; registering the same key again replaces it."""
    _SECTIONS[section.key] = section
    return section


def register_timeline_source(source: TimelineSource) -> TimelineSource:
    """Add entries to the 360° timeline; registering the same key again replaces it."""
    _SOURCES[source.key] = source
    return source


def unregister(key: str) -> None:
    """Remove a section and a source of that key (tests)."""
    _SECTIONS.pop(key, None)
    _SOURCES.pop(key, None)


def sections() -> list[Section]:
    return sorted(_SECTIONS.values(), key=lambda section: (section.order, section.key))


def timeline_sources() -> list[TimelineSource]:
    return list(_SOURCES.values())
