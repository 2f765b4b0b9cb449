"""Where a write lives: every operation that opens a transaction is a service of its app.

Each app keeps its state-changing operations in one package, `<app>/services/`, exported by
`<app>/services/__init__.py`; views, the API, the admin, forms and tasks call them. These tests
read the apps' source with `ast` (nothing is imported or run) and fail on:

- a public function, or a public method of a class (a view, an admin, a form...), outside
  `<app>/services/` whose body or decorators open a transaction: `transaction.atomic` (as a
  `with`, a decorator or a call) or `select_for_update` (a row lock only holds in one);
- a public function of `<app>/services/*.py` that opens a transaction and that the package's
  `__all__` does not export.

"Public" is a name without a leading underscore (dunder methods count as public). Private
helpers may open savepoints: they are called by a public function that the rule covers.
Migrations, management commands and tests are not read (commands call services).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("inventory", "customers", "orders", "campaigns")
SKIPPED = ("migrations", "management", "tests")
# A public function that opens a transaction outside <app>/services/ and truly cannot move:
# "<path>:<name>" -> why. Keep it empty; add an entry only with the reason next to it.
ALLOWED: dict[str, str] = {}

Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class Opener:
    path: str  # relative to the repository, e.g. "orders/views.py"
    line: int
    name: str  # "function", or "Class.method"

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.name}"


def _modules() -> Iterator[Path]:
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            parts = path.relative_to(ROOT / app).parts
            if not any(part in SKIPPED for part in parts[:-1]):
                yield path


def _atomic_names(tree: ast.Module) -> set[str]:
    """Local names bound to django.db.transaction.atomic (`from ... import atomic as x`)."""
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "django.db.transaction"
        for alias in node.names
        if alias.name == "atomic"
    }


def _opens_transaction(function: Function, atomic_names: set[str]) -> bool:
    """Whether the function's decorators or body (nested functions included) use
    `transaction.atomic` or `select_for_update`."""
    for node in ast.walk(function):
        if isinstance(node, ast.Attribute) and node.attr in {"atomic", "select_for_update"}:
            if node.attr == "select_for_update":
                return True
            base = node.value
            name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", None)
            if name == "transaction":
                return True
        if isinstance(node, ast.Name) and node.id in atomic_names:
            return True
    return False


def _is_public(name: str) -> bool:
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))


def _functions(body: list[ast.stmt], prefix: str = "") -> Iterator[tuple[str, Function]]:
    """Module-level functions, and the methods of classes (nested classes too), as
    (qualified name, node); a private class's methods are skipped like private functions."""
    for node in body:
        if isinstance(node, Function):
            yield f"{prefix}{node.name}", node
        elif isinstance(node, ast.ClassDef) and _is_public(node.name):
            yield from _functions(node.body, prefix=f"{prefix}{node.name}.")


def _openers(path: Path) -> list[Opener]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    atomic_names = _atomic_names(tree)
    relative = path.relative_to(ROOT).as_posix()
    return [
        Opener(relative, function.lineno, name)
        for name, function in _functions(tree.body)
        if _is_public(function.name) and _opens_transaction(function, atomic_names)
    ]


def _in_services(path: Path) -> bool:
    return path.relative_to(ROOT).parts[1] == "services"


def _exported(app: str) -> set[str]:
    """The names in `<app>/services/__init__.py`'s `__all__`."""
    tree = ast.parse((ROOT / app / "services" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
        ):
            return set(ast.literal_eval(node.value))
    return set()


def test_the_scan_sees_what_it_looks_for():
    # The rule is only as good as its parser: a view method, a decorated function, an aliased
    # import and a lock are all found; a private helper and a private class are not.
    source = """
from django.db import transaction
from django.db.transaction import atomic as atomically

class CheckoutView:
    def post(self, request):
        with transaction.atomic():
            pass

@transaction.atomic
def decorated():
    pass

def aliased():
    with atomically():
        pass

def locks(queryset):
    return queryset.select_for_update()

def _helper():
    with transaction.atomic():
        pass

class _Private:
    def run(self):
        with transaction.atomic():
            pass

def reads():
    return 1
"""
    tree = ast.parse(source)
    found = [
        name
        for name, function in _functions(tree.body)
        if _is_public(function.name) and _opens_transaction(function, _atomic_names(tree))
    ]
    assert found == ["CheckoutView.post", "decorated", "aliased", "locks"]


def test_every_public_function_that_opens_a_transaction_is_a_service():
    outside = [
        opener
        for path in _modules()
        if not _in_services(path)
        for opener in _openers(path)
        if f"{opener.path}:{opener.name}" not in ALLOWED
    ]

    assert outside == [], (
        "these open a transaction outside <app>/services/: move the operation into the app's "
        "services package and call it from here:\n" + "\n".join(map(str, outside))
    )


def test_every_service_that_opens_a_transaction_is_exported():
    missing = [
        opener
        for app in APPS
        for path in sorted((ROOT / app / "services").glob("*.py"))
        if path.name != "__init__.py"
        for opener in _openers(path)
        if "." not in opener.name and opener.name not in _exported(app)
    ]

    assert missing == [], (
        "export these from their app's services/__init__.py (explicit import and __all__):\n"
        + "\n".join(map(str, missing))
    )


def test_each_apps_services_package_exports_only_what_it_imports():
    for app in APPS:
        tree = ast.parse((ROOT / app / "services" / "__init__.py").read_text(encoding="utf-8"))
        imported = {
            alias.asname or alias.name
            for node in tree.body
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        assert _exported(app), f"{app}/services/__init__.py has no __all__"
        assert _exported(app) <= imported, (app, sorted(_exported(app) - imported))


def test_no_module_is_left_at_an_old_path():
    # The write modules moved into <app>/services/ (with git mv); nothing re-exports them from
    # where they were.
    old = [
        "inventory/imports.py",
        "customers/contacts.py",
        "customers/loyalty/services.py",
        "customers/customer360/access.py",
        "orders/returns.py",
        "orders/privacy.py",
        "orders/cart/services.py",
        "orders/cart/merge.py",
        "orders/cart/links.py",
        "orders/checkout/services.py",
        "orders/checkout/idempotency.py",
        "orders/fulfilment/services.py",
        "orders/fulfilment/shipments.py",
        "orders/notifications/services.py",
        "campaigns/attribution.py",
        "campaigns/automations/services.py",
        "campaigns/discounts.py",
    ]

    assert [path for path in old if (ROOT / path).exists()] == []
