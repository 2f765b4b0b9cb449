"""CSV imports of the catalogue and of stock counts, shared by the commands and the admin.

Every row is validated first; a file with any invalid row imports nothing and reports each bad
row with its line number. A valid file is applied in one transaction. Stock quantities go
through the stock services (a count, or opening stock where the article was never stocked), so
the ledger still adds up to the stock.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from inventory.models import Category, Location, Product, StockLevel, Variant
from inventory.services._ledger import StockLine
from inventory.services.counts import stock_count
from inventory.services.stock import stock_initialise
from omni.exceptions import DomainError

PRODUCT_COLUMNS = (
    "reference",
    "product_name",
    "category",
    "sku",
    "ean",
    "variant_name",
    "size",
    "colour",
    "price",
    "currency",
    "vat_rate",
    "active",
)
STOCK_COLUMNS = ("location", "sku", "quantity")
EAN = re.compile(r"^\d{8}$|^\d{12,14}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_PRICE = Decimal(10) ** 8  # Variant.price holds 10 digits, 2 of them decimals
TRUE = {"1", "true", "yes", "y", "oui", "vrai"}
FALSE = {"0", "false", "no", "n", "non", "faux"}


class RowError(NamedTuple):
    """Why one row of the file was refused, with its line number (the header is line 1)."""

    line: int
    message: str

    def __str__(self) -> str:
        """The row's error as the admin and the command show it."""
        return _("line %(line)s: %(message)s") % {"line": self.line, "message": self.message}


@dataclass
class ImportReport:
    """What an import did, or why it did nothing."""

    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    updated: int = 0

    @property
    def ok(self) -> bool:
        """The file was imported: no row was refused."""
        return not self.errors

    def lines(self) -> list[str]:
        """The report as lines to show: every refused row, or the counts."""
        if self.errors:
            return [str(error) for error in self.errors]
        return [_("%(created)s created, %(updated)s updated.") % vars(self)]


class _Rejected(Exception):
    """Leaves the import's transaction so that nothing it wrote is kept."""


def _rows(text: str, columns: tuple[str, ...], report: ImportReport) -> Iterator[tuple[int, dict]]:
    """The file's rows with their line numbers; header problems go to the report."""
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample.splitlines()[0] if sample else "", delimiters=",;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in columns if name not in header]
    if missing:
        report.errors.append(
            RowError(1, _("missing columns: %(columns)s") % {"columns": ", ".join(missing)})
        )
        return
    reader.fieldnames = header
    for row in reader:
        cleaned = {key: (value or "").strip() for key, value in row.items() if key}
        if any(cleaned.values()):
            yield reader.line_num, cleaned


def read_text(data: bytes) -> str:
    """Decode an uploaded file: UTF-8, with or without the BOM spreadsheets add."""
    return data.decode("utf-8-sig")


# --- Products ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductRow:
    """One valid row of a catalogue file: a variant, its product and category."""

    line: int
    reference: str
    product_name: str
    category: str
    sku: str
    ean: str
    variant_name: str
    attributes: dict
    price: Decimal
    currency: str
    vat_rate: Decimal
    active: bool


def _decimal(value: str, name: str, problems: list[str]) -> Decimal:
    try:
        number = Decimal(value.replace(",", "."))
    except InvalidOperation:
        problems.append(
            _("%(column)s is not a number: “%(value)s”") % {"column": name, "value": value}
        )
        return Decimal(0)
    if not number.is_finite() or number < 0:
        problems.append(_("%(column)s must be zero or more") % {"column": name})
    return number


def _parse_product(line: int, row: dict) -> tuple[ProductRow | None, list[str]]:
    problems = [
        _("%(column)s is required") % {"column": name}
        for name in ("reference", "product_name", "category", "sku", "variant_name", "price")
        if not row[name]
    ]
    price = _decimal(row["price"], "price", problems) if row["price"] else Decimal(0)
    if price.is_finite() and (price >= MAX_PRICE or price != round(price, 2)):
        problems.append(_("price must have at most two decimals and stay under 100,000,000"))
    vat_rate = _decimal(row["vat_rate"], "vat_rate", problems) if row["vat_rate"] else Decimal(20)
    if vat_rate > 100:
        problems.append(_("vat_rate must be a percentage, at most 100"))
    if row["ean"] and not EAN.match(row["ean"]):
        problems.append(
            _("ean must be 8, 12, 13 or 14 digits: “%(value)s”") % {"value": row["ean"]}
        )
    currency = (row["currency"] or "EUR").upper()
    if not CURRENCY.match(currency):
        problems.append(_("currency must be three letters, such as EUR"))
    active = row["active"].lower() or "true"
    if active not in TRUE | FALSE:
        problems.append(_("active must be true or false: “%(value)s”") % {"value": row["active"]})
    for name, limit in (
        ("reference", 40),
        ("sku", 40),
        ("product_name", 200),
        ("variant_name", 200),
    ):
        if len(row[name]) > limit:
            problems.append(
                _("%(column)s is longer than %(limit)s characters")
                % {"column": name, "limit": limit}
            )
    if problems:
        return None, problems
    attributes = {key: row[key] for key in ("size", "colour") if row[key]}
    return (
        ProductRow(
            line=line,
            reference=row["reference"],
            product_name=row["product_name"],
            category=row["category"],
            sku=row["sku"],
            ean=row["ean"],
            variant_name=row["variant_name"],
            attributes=attributes,
            price=price,
            currency=currency,
            vat_rate=vat_rate,
            active=active in TRUE,
        ),
        [],
    )


def validate_products(text: str) -> tuple[list[ProductRow], ImportReport]:
    """Parse and check every row of a products file; the report lists every bad row."""
    report = ImportReport()
    rows: list[ProductRow] = []
    seen_skus: dict[str, int] = {}
    products: dict[str, ProductRow] = {}
    for line, raw in _rows(text, PRODUCT_COLUMNS, report):
        row, problems = _parse_product(line, raw)
        if row is not None:
            if row.sku.lower() in seen_skus:
                problems.append(
                    _("SKU %(sku)s already appears on line %(line)s")
                    % {"sku": row.sku, "line": seen_skus[row.sku.lower()]}
                )
            seen_skus.setdefault(row.sku.lower(), line)
            first = products.setdefault(row.reference, row)
            if (first.product_name, first.category, first.vat_rate) != (
                row.product_name,
                row.category,
                row.vat_rate,
            ):
                problems.append(
                    _("product %(reference)s differs from line %(line)s (name, category or VAT)")
                    % {"reference": row.reference, "line": first.line}
                )
        if problems or row is None:
            report.errors.append(RowError(line, "; ".join(problems)))
        else:
            rows.append(row)
    if not rows and report.ok:
        report.errors.append(RowError(1, _("the file has no rows")))
    return rows, report


def import_products(text: str) -> ImportReport:
    """Create or update the products and variants of a products file, all or nothing."""
    rows, report = validate_products(text)
    if not report.ok:
        return report
    with transaction.atomic():
        categories = _categories({row.category for row in rows})
        products = _products(rows, categories)
        existing = Variant.objects.in_bulk([row.sku for row in rows], field_name="sku")
        new: list[Variant] = []
        changed: list[Variant] = []
        now = timezone.now()  # bulk_update does not set auto_now fields
        for row in rows:
            variant = existing.get(row.sku) or Variant(sku=row.sku)
            variant.product = products[row.reference]
            variant.ean = row.ean
            variant.name = row.variant_name
            variant.attributes = row.attributes
            variant.price = row.price
            variant.currency = row.currency
            variant.is_active = row.active
            variant.updated_at = now
            (changed if variant.pk else new).append(variant)
        Variant.objects.bulk_create(new, batch_size=1_000)
        Variant.objects.bulk_update(
            changed,
            [
                "product",
                "ean",
                "name",
                "attributes",
                "price",
                "currency",
                "is_active",
                "updated_at",
            ],
            batch_size=1_000,
        )
    report.created, report.updated = len(new), len(changed)
    return report


def _categories(names: Iterable[str]) -> dict[str, Category]:
    """Categories by name, created where missing (a category is found by its slug)."""
    categories = {}
    for name in sorted(names):
        categories[name], _created = Category.objects.get_or_create(
            slug=slugify(name)[:120], defaults={"name": name}
        )
    return categories


def _products(rows: list[ProductRow], categories: dict[str, Category]) -> dict[str, Product]:
    first_rows = {row.reference: row for row in reversed(rows)}
    products = Product.objects.in_bulk(list(first_rows), field_name="reference")
    for reference, row in first_rows.items():
        product = products.get(reference) or Product(reference=reference)
        product.name = row.product_name
        product.category = categories[row.category]
        product.vat_rate = row.vat_rate
        if product.pk:
            product.save(update_fields=["name", "category", "vat_rate", "updated_at"])
        else:
            product.save()
        products[reference] = product
    return products


# --- Stock counts ------------------------------------------------------------------------------


class StockRow(NamedTuple):
    """One valid row of a stock file: the counted quantity of a variant at a location."""

    line: int
    location: Location
    variant: Variant
    quantity: int


def validate_stock(text: str) -> tuple[list[StockRow], ImportReport]:
    """Parse and check every row of a stock counts file; the report lists every bad row."""
    report = ImportReport()
    raw_rows = list(_rows(text, STOCK_COLUMNS, report))
    locations = Location.objects.in_bulk(
        {row["location"] for _, row in raw_rows}, field_name="code"
    )
    variants = Variant.objects.in_bulk({row["sku"] for _, row in raw_rows}, field_name="sku")
    rows: list[StockRow] = []
    seen: dict[tuple[str, str], int] = {}
    for line, raw in raw_rows:
        problems = []
        location = locations.get(raw["location"])
        variant = variants.get(raw["sku"])
        if location is None:
            problems.append(_("unknown location “%(code)s”") % {"code": raw["location"]})
        if variant is None:
            problems.append(_("unknown SKU “%(sku)s”") % {"sku": raw["sku"]})
        try:
            quantity = int(raw["quantity"])
        except ValueError:
            problems.append(
                _("quantity is not a whole number: “%(value)s”") % {"value": raw["quantity"]}
            )
        else:
            if quantity < 0:
                problems.append(_("quantity must be zero or more"))
        key = (raw["location"], raw["sku"])
        if key in seen:
            problems.append(
                _("this location and SKU already appear on line %(line)s") % {"line": seen[key]}
            )
        seen.setdefault(key, line)
        if problems or location is None or variant is None:
            report.errors.append(RowError(line, "; ".join(problems)))
        else:
            rows.append(StockRow(line, location, variant, quantity))
    if not rows and report.ok:
        report.errors.append(RowError(1, _("the file has no rows")))
    return rows, report


def import_stock(text: str, *, reference: str, performed_by: User | None = None) -> ImportReport:
    """Set the stock of every row to its counted quantity, through the stock services.

    Where an article was never stocked at the location it is received as opening stock;
    elsewhere the quantity is recorded as a count. All rows or none.
    """
    rows, report = validate_stock(text)
    if not report.ok:
        return report
    try:
        with transaction.atomic():
            stocked = set(
                StockLevel.objects.filter(
                    location__in=[row.location.pk for row in rows],
                    variant__in=[row.variant.pk for row in rows],
                ).values_list("location_id", "variant_id")
            )
            for row in rows:
                try:
                    _apply_count(
                        row, stocked=stocked, reference=reference, performed_by=performed_by
                    )
                except DomainError as error:
                    report.errors.append(RowError(row.line, error.detail))
                    raise _Rejected from error
                if (row.location.pk, row.variant.pk) in stocked:
                    report.updated += 1
                elif row.quantity > 0:
                    report.created += 1
    except _Rejected:
        report.created = report.updated = 0
    return report


def _apply_count(
    row: StockRow,
    *,
    stocked: set[tuple[int, int]],
    reference: str,
    performed_by: User | None,
) -> None:
    if (row.location.pk, row.variant.pk) in stocked:
        stock_count(
            location=row.location,
            variant_id=row.variant.pk,
            counted=row.quantity,
            performed_by=performed_by,
            reference=reference,
        )
    elif row.quantity > 0:
        stock_initialise(
            location=row.location,
            lines=[StockLine(variant_id=row.variant.pk, quantity=row.quantity)],
            reference=reference,
            performed_by=performed_by,
        )
