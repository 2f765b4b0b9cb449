"""Every change to stock goes through this package: atomic, ledgered, safe under concurrency.

Callers use `from inventory import services; services.stock_reserve(...)`. Each service locks
the rows it changes (reservations, then stock rows, each in primary-key order: see `_ledger`),
checks the rule under the lock, and writes its ledger rows and stock events in the same
transaction, so on-hand and reserved always equal the sums of their ledger rows. The CSV
imports of the catalogue and of stock (`imports`) are here too: the admin and the commands
call them.
"""

from inventory.services._ledger import StockLine
from inventory.services.counts import (
    CountResult,
    shortage_cancel,
    shortage_reallocate,
    stock_count,
)
from inventory.services.imports import (
    PRODUCT_COLUMNS,
    STOCK_COLUMNS,
    ImportReport,
    RowError,
    import_products,
    import_stock,
    read_text,
)
from inventory.services.reservations import (
    stock_commit,
    stock_release,
    stock_release_expired,
    stock_reserve,
)
from inventory.services.stock import (
    stock_adjust,
    stock_initialise,
    stock_receive,
    stock_return,
    stock_sell,
)
from inventory.services.transfers import stock_transfer_receive, stock_transfer_ship

__all__ = [
    "PRODUCT_COLUMNS",
    "STOCK_COLUMNS",
    "CountResult",
    "ImportReport",
    "RowError",
    "StockLine",
    "import_products",
    "import_stock",
    "read_text",
    "shortage_cancel",
    "shortage_reallocate",
    "stock_adjust",
    "stock_commit",
    "stock_count",
    "stock_initialise",
    "stock_receive",
    "stock_release",
    "stock_release_expired",
    "stock_reserve",
    "stock_return",
    "stock_sell",
    "stock_transfer_receive",
    "stock_transfer_ship",
]
