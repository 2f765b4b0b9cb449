"""Set stock from a CSV file of counts (location, sku, quantity), through the stock services."""

from pathlib import Path

from django.core.management.base import BaseCommand

from inventory import services
from inventory.management.commands.import_products import finish, read


class Command(BaseCommand):
    help = (
        "Record stock counts from a CSV file with the columns location, sku, quantity: a count "
        "where the article is stocked, opening stock where it is not. A file with any invalid "
        "row imports nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="the CSV file (UTF-8, comma or semicolon)")
        parser.add_argument(
            "--reference", help="the ledger reference (default: import:<file name>)"
        )

    def handle(self, *args, path: Path, reference: str | None, **options):
        report = services.import_stock(
            read(path), reference=(reference or f"import:{path.name}")[:100]
        )
        finish(self, report)
