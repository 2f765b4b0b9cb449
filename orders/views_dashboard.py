"""The management dashboard screen: the figures of orders/dashboard.py as server-rendered SVG
charts, each with a table of the same figures (no JavaScript, no build step).

Scope: marketers and administrators (the marketing permission) see the whole network and may
pick one store; a store manager sees the stores on her staff profile, all of them or one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from django.views.generic import TemplateView

from customers.models import Channel
from inventory.models import Location, LocationKind
from inventory.screens import staff_stores
from omni import roles
from omni.views import StaffScreenMixin
from orders import dashboard as figures

MAX_DAYS = 5 * 366  # a longer range is refused: it says nothing a manager can act on
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 36
# Distinguishable in colour-blind palettes (Okabe-Ito); the tables carry the same figures.
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9")


# Charts ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]  # the first cell of each row is its header


@dataclass(frozen=True)
class Tick:
    y: float
    text: str


@dataclass(frozen=True)
class Label:
    x: float
    text: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str  # the tooltip: label and value


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    segments: list[str]  # polyline points; a missing value breaks the line
    dots: list[tuple[float, float, str]]


@dataclass(frozen=True)
class Chart:
    """One chart and the table of its figures; its geometry is computed here, in SVG units."""

    slug: str
    title: str
    table: Table
    ticks: list[Tick]
    labels: list[Label]
    bars: list[Bar] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT

    colour: str = PALETTE[0]

    @property
    def left(self) -> int:
        return LEFT

    @property
    def baseline(self) -> int:
        return self.height - BOTTOM

    @property
    def label_y(self) -> int:
        return self.height - BOTTOM + 16

    @property
    def right(self) -> int:
        return self.width - RIGHT


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (1 for nothing)."""
    if value <= 0:
        return 1.0
    scale = 10 ** (len(str(int(value))) - 1)
    return next(step * scale for step in (1, 2, 5, 10) if step * scale >= value)


def _frame(values: Sequence[float], count: int, ceiling: float | None):
    top = ceiling or _nice_ceiling(max(values, default=0))
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(count, 1)

    def y(value: float) -> float:
        return round(TOP + plot_height * (1 - value / top), 1)

    ticks = [
        Tick(y(top * step / 4), number_format(top * step / 4, 0, force_grouping=True))
        for step in range(5)
    ]
    return slot, y, ticks


def bar_chart(
    slug: str, title: str, items: Sequence[tuple[str, float]], table: Table, *, ceiling=None
) -> Chart:
    """One bar per (label, value)."""
    slot, y, ticks = _frame([value for _label, value in items], len(items), ceiling)
    bars, labels = [], []
    for index, (label, value) in enumerate(items):
        left = LEFT + slot * index
        bars.append(
            Bar(
                x=round(left + slot * 0.2, 1),
                y=y(value),
                width=round(slot * 0.6, 1),
                height=round(y(0) - y(value), 1),
                title=f"{label}: {number_format(value, 1)}",
            )
        )
        labels.append(Label(round(left + slot / 2, 1), label))
    return Chart(slug, title, table, ticks, labels, bars=bars)


def line_chart(
    slug: str,
    title: str,
    categories: Sequence[str],
    lines: Sequence[tuple[str, Sequence[float | None]]],
    table: Table,
    *,
    ceiling=None,
) -> Chart:
    """One line per (name, values), a value per category; None leaves a gap."""
    known = [value for _name, values in lines for value in values if value is not None]
    slot, y, ticks = _frame(known, len(categories), ceiling)
    series = []
    for index, (name, values) in enumerate(lines):
        segments, current, dots = [], [], []
        for position, value in enumerate(values):
            if value is None:
                segments, current = [*segments, " ".join(current)] if current else segments, []
                continue
            x = round(LEFT + slot * (position + 0.5), 1)
            current.append(f"{x},{y(value)}")
            dots.append((x, y(value), f"{name}, {categories[position]}: {number_format(value, 1)}"))
        if current:
            segments.append(" ".join(current))
        series.append(Series(name, PALETTE[index % len(PALETTE)], segments, dots))
    labels = [Label(round(LEFT + slot * (i + 0.5), 1), text) for i, text in enumerate(categories)]
    return Chart(slug, title, table, ticks, labels, series=series)


# Figures as text ---------------------------------------------------------------------------------


def _money(value: Decimal) -> str:
    return number_format(value, 2, force_grouping=True)


def _percent(value: Decimal | None) -> str:
    return "-" if value is None else f"{number_format(value, 1)}\N{NO-BREAK SPACE}%"


def _month(value: date) -> str:
    return date_format(value, "M Y")


def _short_month(value: date) -> str:
    return date_format(value, "M y")


def _channel(value: str) -> str:
    return str(Channel(value).label) if value in Channel.values else value


def _months(period: figures.Period) -> list[date]:
    first = timezone.localtime(period.since).date().replace(day=1)
    last = timezone.localtime(period.until).date()
    months, current = [], first
    while current < last:
        months.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


def revenue_charts(board: figures.Dashboard) -> list[Chart]:
    months = _months(board.period)
    present = {cell.channel for cell in board.revenue}
    channels = [value for value in Channel.values if value in present]
    by_cell = {(cell.month, cell.channel): cell.revenue for cell in board.revenue}
    lines = [
        (_channel(channel), [float(by_cell.get((month, channel), 0)) for month in months])
        for channel in channels
    ]
    rows = [
        [
            _month(month),
            *[_money(by_cell.get((month, channel), Decimal(0))) for channel in channels],
            _money(sum((by_cell.get((month, c), Decimal(0)) for c in channels), Decimal(0))),
        ]
        for month in months
    ]
    table = Table([_("Month"), *[_channel(c) for c in channels], _("Total")], rows)
    title = _("Revenue by channel (EUR)")
    return [line_chart("revenue", title, [_short_month(m) for m in months], lines, table)]


def _csat_chart(slug: str, title: str, rows: list, label, short=None) -> Chart:
    table = Table(
        [_("Group"), _("CSAT"), _("Answers"), _("Satisfied (4 or 5)")],
        [[label(r.key), _percent(r.csat), str(r.answers), str(r.satisfied)] for r in rows],
    )
    items = [((short or label)(row.key), float(row.csat)) for row in rows]
    return bar_chart(slug, title, items, table, ceiling=100)


def satisfaction_charts(board: figures.Dashboard) -> list[Chart]:
    csat = board.satisfaction
    return [
        _csat_chart("csat-month", _("CSAT by month (%)"), csat.by_month, _month, _short_month),
        _csat_chart(
            "csat-store", _("CSAT by store (%)"), csat.by_store, lambda key: key or _("No store")
        ),
        _csat_chart("csat-channel", _("CSAT by channel (%)"), csat.by_channel, _channel),
    ]


def retention_charts(board: figures.Dashboard) -> list[Chart]:
    cohorts = board.retention
    width = max((len(cohort.returning) for cohort in cohorts), default=0)
    table = Table(
        [_("First order in"), _("Customers"), *[f"+{n}" for n in range(1, width + 1)]],
        [
            [_month(c.month), str(c.customers), *[_percent(r) for r in c.rates]]
            + [""] * (width - len(c.returning))
            for c in cohorts
        ],
    )
    next_month = [(_short_month(c.month), float(c.rates[0])) for c in cohorts if c.returning]
    title = _("Ordered again the next month (% of each cohort)")
    return [bar_chart("retention", title, next_month, table, ceiling=100)]


def lifetime_value_charts(board: figures.Dashboard) -> list[Chart]:
    value = board.lifetime_value

    def bucket(row: figures.ValueBucket) -> str:
        if row.high is None:
            return _("%(low)s € and more") % {"low": number_format(row.low, 0)}
        return _("%(low)s to %(high)s €") % {
            "low": number_format(row.low, 0),
            "high": number_format(row.high, 0),
        }

    table = Table(
        [_("Lifetime value"), _("Customers"), _("Share"), _("Revenue (EUR)")],
        [
            [
                bucket(row),
                str(row.customers),
                _percent(figures.rate(row.customers, value.customers)),
                _money(row.revenue),
            ]
            for row in value.buckets
        ],
    )
    items = [(bucket(row), row.customers) for row in value.buckets]
    return [bar_chart("ltv", _("Customers by lifetime value"), items, table)]


def channel_mix_charts(board: figures.Dashboard) -> list[Chart]:
    mix = board.channel_mix
    items = [
        (_("One channel"), mix.one),
        (_("Two channels"), mix.two),
        (_("Three or more"), mix.three_or_more),
    ]
    table = Table(
        [_("Channels used"), _("Customers"), _("Share")],
        [
            [label, str(count), _percent(figures.rate(count, mix.customers))]
            for label, count in items
        ],
    )
    return [bar_chart("mix", _("Customers by number of channels"), items, table)]


def pickup_charts(board: figures.Dashboard) -> list[Chart]:
    rows = board.pickups
    months = [_short_month(row.month) for row in rows]
    volume = Table(
        [_("Month"), _("Pickups"), pgettext("pickup count", "Collected")],
        [[_month(row.month), str(row.pickups), str(row.collected)] for row in rows],
    )
    on_time = Table(
        [_("Month"), _("Due"), _("Ready on time"), _("On time")],
        [
            [_month(row.month), str(row.due), str(row.on_time), _percent(row.on_time_rate)]
            for row in rows
        ],
    )
    rates = [None if row.on_time_rate is None else float(row.on_time_rate) for row in rows]
    counts = [(month, row.pickups) for month, row in zip(months, rows, strict=True)]
    title = _("Ready by the promised time (%)")
    return [
        bar_chart("pickups", _("Click-and-collect pickups"), counts, volume),
        line_chart("on-time", title, months, [(_("On time"), rates)], on_time, ceiling=100),
    ]


def key_figures(board: figures.Dashboard) -> list[tuple[str, str]]:
    revenue = sum((cell.revenue for cell in board.revenue), Decimal(0))
    orders = sum(cell.orders for cell in board.revenue)
    due = sum(row.due for row in board.pickups)
    on_time = sum(row.on_time for row in board.pickups)
    return [
        (_("Revenue (EUR)"), _money(revenue)),
        (_("Orders"), str(orders)),
        (_("Customers who ordered"), str(board.channel_mix.customers)),
        (_("CSAT"), _percent(board.satisfaction.overall.csat)),
        (_("On more than one channel"), _percent(board.channel_mix.share)),
        (_("Average lifetime value (EUR)"), _money(board.lifetime_value.average or Decimal(0))),
        (_("Click-and-collect pickups"), str(sum(row.pickups for row in board.pickups))),
        (_("Pickups ready on time"), _percent(figures.rate(on_time, due))),
    ]


@dataclass(frozen=True)
class Section:
    title: str
    charts: list[Chart]
    note: str = ""


def sections(board: figures.Dashboard, *, store_filter: bool) -> list[Section]:
    csat_note = (
        _("CSAT by month and by channel covers every store: only the store figures are filtered.")
        if store_filter
        else ""
    )
    return [
        Section(_("Revenue by channel"), revenue_charts(board)),
        Section(_("Customer satisfaction (CSAT)"), satisfaction_charts(board), csat_note),
        Section(_("Retention by monthly cohort"), retention_charts(board)),
        Section(_("Lifetime value"), lifetime_value_charts(board)),
        Section(_("Customers on more than one channel"), channel_mix_charts(board)),
        Section(_("Click-and-collect"), pickup_charts(board)),
    ]


# The screen --------------------------------------------------------------------------------------


class DashboardFilter(forms.Form):
    since = forms.DateField(
        label=pgettext_lazy("date range", "From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = forms.DateField(
        label=pgettext_lazy("date range", "To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    store = forms.ChoiceField(label=gettext_lazy("Store"), required=False)

    def __init__(self, *args, stores: Sequence[Location], every_store_label: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.stores = {store.code: store for store in stores}
        choices = [(store.code, f"{store.code} · {store.name}") for store in stores]
        self.fields["store"].choices = [("", every_store_label), *choices]

    def clean(self):
        data = super().clean()
        default = figures.default_period()
        since = data.get("since") or timezone.localtime(default.since).date()
        until = data.get("until") or timezone.localdate()
        if since > until:
            raise forms.ValidationError(_("The start date must be on or before the end date."))
        if (until - since).days > MAX_DAYS:
            raise forms.ValidationError(_("Choose a range of at most five years."))
        data["period"] = figures.period_between(since=since, until=until)
        data["store"] = self.stores.get(data.get("store") or "")
        return data


class ManagementDashboardView(StaffScreenMixin, TemplateView):
    """CSAT, retention, lifetime value, channel mix, revenue and pickups for a date range."""

    permission_required = roles.DASHBOARD
    template_name = "orders/dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        network = user.is_superuser or user.has_perm(roles.MARKETING_SCREENS)
        if network:
            stores = list(
                Location.objects.filter(kind=LocationKind.STORE, is_active=True).order_by("code")
            )
        else:
            stores = staff_stores(user).stores
        label = _("All stores") if network else _("All your stores")
        default = figures.default_period()
        data = self.request.GET.copy()  # the fields show the period used when left empty
        data.setdefault("since", timezone.localtime(default.since).date().isoformat())
        data.setdefault("until", timezone.localdate().isoformat())
        form = DashboardFilter(data, stores=stores, every_store_label=label)
        form.is_valid()  # what is wrong is shown; the rest is used, the defaults stand in
        period = form.cleaned_data.get("period") or default
        store = form.cleaned_data.get("store")
        scope = [store] if store else (None if network else stores)
        context.update(
            form=form,
            store=store,
            no_store=scope == [],
            first_day=timezone.localtime(period.since).date(),
            last_day=timezone.localtime(period.until).date() - timedelta(days=1),
        )
        if scope == []:  # a manager with no store on her profile
            return context
        board = figures.management_dashboard(period=period, stores=scope)
        context.update(
            board=board,
            key_figures=key_figures(board),
            sections=sections(board, store_filter=scope is not None),
        )
        return context
