"""Import products and variants from a CSV file: all rows or none."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from inventory import services


class Command(BaseCommand):
    help = (
        "Create or update products and variants from a CSV file with the columns "
        + ", ".join(services.PRODUCT_COLUMNS)
        + ". A file with any invalid row imports nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="the CSV file (UTF-8, comma or semicolon)")

    def handle(self, *args, path: Path, **options):
        report = services.import_products(read(path))
        finish(self, report)


def read(path: Path) -> str:
    """The file's text, or a CommandError naming what is wrong with it."""
    try:
        return services.read_text(path.read_bytes())
    except OSError as error:
        raise CommandError(f"{path}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise CommandError(f"{path}: not UTF-8 text") from error


def finish(command: BaseCommand, report: services.ImportReport) -> None:
    """Print the report; exit non-zero when the file was rejected."""
    if report.ok:
        command.stdout.write(command.style.SUCCESS(report.lines()[0]))
        return
    for line in report.lines():
        command.stderr.write(line)
    raise CommandError(f"{len(report.errors)} invalid row(s): nothing was imported")
