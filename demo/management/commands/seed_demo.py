"""Seed the demo data set (idempotent for a given seed) and print the demo logins."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo import seed as demo_seed


class Command(BaseCommand):
    help = (
        "Create demo stores, catalogue, stock, customers, orders, campaigns and one login per role."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=500)
        parser.add_argument("--products", type=int, default=40)
        parser.add_argument(
            "--stores",
            type=int,
            default=4,
            help=f"at most {len(demo_seed.STORES)}; two warehouses are always added",
        )
        parser.add_argument(
            "--orders",
            type=int,
            default=2,
            help="orders per buying customer over the last 12 months, on average (0: none)",
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--force", action="store_true", help="allow seeding when DJANGO_ENV=production"
        )

    def handle(
        self,
        *args,
        customers: int,
        products: int,
        stores: int,
        orders: int,
        seed: int,
        force: bool,
        **options,
    ):
        if settings.PRODUCTION and not force:
            raise CommandError("refusing to seed demo data in production (use --force)")
        sizes = {"customers": customers, "products": products, "stores": stores, "orders": orders}
        for name, value in sizes.items():
            if value < 0:
                raise CommandError(f"--{name} must be zero or more")
        if stores > len(demo_seed.STORES):
            raise CommandError(f"--stores must be at most {len(demo_seed.STORES)}")
        if settings.CELERY_BROKER_URL.startswith("filesystem://"):
            # The sent demo campaign queues its dispatch (a no-op by then) on the broker's folders.
            for folder in ("queue", "processed", "control"):
                (settings.VAR_DIR / "celery" / folder).mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        counts = demo_seed.seed(
            customers=customers,
            products=products,
            stores=stores,
            seed=seed,
            orders_per_customer=orders,
            campaigns=True,
        )
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready in {elapsed:.1f}s: {counts['customers']} customers, "
                f"{counts['orders']} orders, {counts['campaigns']} campaigns, "
                f"{counts['variants']} variants, {counts['locations']} locations."
            )
        )
        self.stdout.write("Demo logins (username / password, role):")
        for user in demo_seed.DEMO_USERS:
            self.stdout.write(f"  {user.username:<11} {user.password:<16} {user.role.label}")
