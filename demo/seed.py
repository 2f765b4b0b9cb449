"""Demo data: a French retailer with stores, warehouses, a catalogue, stock, customers and staff.

Deterministic for a given seed and idempotent: rows are keyed by codes, SKUs and e-mail
addresses, inserted in bulk with ON CONFLICT DO NOTHING, so a second run adds nothing and a run
with more customers adds only the missing ones.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone
from faker.providers.person.fr_FR import Provider as PersonNames

from campaigns.models import Campaign
from customers.models import (
    Channel,
    ConsentAction,
    ConsentEvent,
    ConsentState,
    ContactChannel,
    Customer,
    Device,
    DevicePlatform,
    Gender,
    OptInLevel,
)
from demo.campaigns import seed_campaigns
from demo.orders import seed_orders
from inventory import services as stock_services
from inventory.models import Category, Location, LocationKind, Product, StaffProfile, Variant
from omni import roles
from orders.models import Order

BATCH = 5_000

# code, name, city, postal code, latitude, longitude
STORES = [
    ("PAR01", "Paris Rivoli", "Paris", "75001", "48.860600", "2.347600"),
    ("PAR02", "Paris Montparnasse", "Paris", "75015", "48.842100", "2.321900"),
    ("LYO01", "Lyon Part-Dieu", "Lyon", "69003", "45.760800", "4.859500"),
    ("MAR01", "Marseille Canebière", "Marseille", "13001", "43.297600", "5.381000"),
    ("BOR01", "Bordeaux Sainte-Catherine", "Bordeaux", "33000", "44.840400", "-0.573500"),
    ("LIL01", "Lille Centre", "Lille", "59000", "50.636700", "3.063500"),
    ("NAN01", "Nantes Commerce", "Nantes", "44000", "47.213000", "-1.558600"),
    ("TLS01", "Toulouse Capitole", "Toulouse", "31000", "43.604500", "1.444000"),
    ("STR01", "Strasbourg Kléber", "Strasbourg", "67000", "48.583500", "7.745800"),
    ("NIC01", "Nice Masséna", "Nice", "06000", "43.697000", "7.270000"),
]
WAREHOUSES = [
    ("WH-NORD", "Entrepôt Nord", "Lesquin", "59810", "50.589000", "3.111000"),
    ("WH-SUD", "Entrepôt Sud", "Vitrolles", "13127", "43.446000", "5.248000"),
]
CATEGORIES = [
    ("robes", "Robes", ["Robe portefeuille", "Robe midi", "Robe chemise", "Robe longue"]),
    ("hauts", "Hauts", ["Chemisier", "T-shirt", "Pull col rond", "Cardigan"]),
    ("bas", "Bas", ["Jean droit", "Pantalon large", "Jupe plissée", "Short"]),
    ("beaute", "Beauté", ["Rouge à lèvres", "Mascara", "Crème hydratante", "Parfum"]),
    ("chaussures", "Chaussures", ["Baskets", "Bottines", "Sandales", "Escarpins"]),
]
COLOURS = ["noir", "blanc", "bleu", "rouge", "vert", "beige"]
SIZES = ["XS", "S", "M", "L", "XL"]
OPENING_HOURS = {str(day): ["10:00", "19:30"] for day in range(6)} | {"6": None}


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: roles.Role
    store_codes: tuple[str, ...] = ()
    superuser: bool = False


DEMO_USERS = (
    DemoUser("vendeur", "omni-vendeur", roles.STORE_STAFF, ("PAR01",)),
    DemoUser("manager", "omni-manager", roles.STORE_MANAGER, ("PAR01", "PAR02")),
    DemoUser("conseiller", "omni-conseiller", roles.SERVICE_AGENT),
    DemoUser("marketing", "omni-marketing", roles.MARKETER),
    DemoUser("admin", "omni-admin", roles.ADMINISTRATOR, superuser=True),
)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def seed_locations(*, stores: int) -> list[Location]:
    """Create the first `stores` stores and both warehouses."""
    rows = []
    for index, (code, name, city, postal, lat, lng) in enumerate(STORES[:stores]):
        rows.append(
            Location(
                code=code,
                name=name,
                kind=LocationKind.STORE,
                city=city,
                postal_code=postal,
                address=f"{10 + index} rue du Commerce",
                latitude=Decimal(lat),
                longitude=Decimal(lng),
                click_and_collect=True,
                ship_from_store=index % 2 == 0,
                opening_hours=OPENING_HOURS,
                pickup_preparation_minutes=120,
                safety_stock_pickup=1,
                priority=50 + index,
            )
        )
    for index, (code, name, city, postal, lat, lng) in enumerate(WAREHOUSES):
        rows.append(
            Location(
                code=code,
                name=name,
                kind=LocationKind.WAREHOUSE,
                city=city,
                postal_code=postal,
                address="Zone logistique",
                latitude=Decimal(lat),
                longitude=Decimal(lng),
                opening_hours={str(day): ["06:00", "22:00"] for day in range(6)},
                priority=10 + index,
            )
        )
    Location.objects.bulk_create(rows, ignore_conflicts=True)
    return list(Location.objects.filter(code__in=[row.code for row in rows]))


def seed_catalogue(*, products: int, rng: random.Random) -> list[Variant]:
    """Create `products` products, each in a few colours and sizes."""
    categories = {}
    for slug, name, _kinds in CATEGORIES:
        categories[slug], _ = Category.objects.get_or_create(slug=slug, defaults={"name": name})
    variants = []
    for number in range(products):
        slug, _name, kinds = CATEGORIES[number % len(CATEGORIES)]
        kind = kinds[(number // len(CATEGORIES)) % len(kinds)]
        reference = f"P{number:05d}"
        # Draw every random value whether or not the product exists: a rerun stays identical.
        name = f"{kind} {rng.choice(['Iris', 'Léa', 'Côme', 'Nina', 'Jade', 'Loup'])}"
        price = Decimal(rng.randrange(990, 12990, 100)) / 100
        sizes = ["TU"] if slug == "beaute" else rng.sample(SIZES, 3)
        product, _ = Product.objects.get_or_create(
            reference=reference,
            defaults={
                "name": name,
                "category": categories[slug],
                "brand": "Omni",
                "vat_rate": Decimal("20.00"),
            },
        )
        for colour in rng.sample(COLOURS, 2):
            for size in sizes:
                sku = f"{reference}-{colour[:3].upper()}-{size}"
                variants.append(
                    Variant(
                        product=product,
                        sku=sku,
                        ean=f"{3_000_000_000_000 + len(variants) + number * 100}",
                        name=f"{product.name} {colour} {size}",
                        price=price,
                        attributes={"colour": colour, "size": size},
                        low_stock_threshold=2,
                    )
                )
    Variant.objects.bulk_create(variants, ignore_conflicts=True)
    return list(Variant.objects.filter(sku__in=[variant.sku for variant in variants]))


def seed_stock(*, locations: list[Location], variants: list[Variant], rng: random.Random) -> int:
    """Receive an initial quantity of every variant at every location (skipped where stocked)."""
    received = 0
    for location in locations:
        high = 40 if location.kind == LocationKind.WAREHOUSE else 6
        lines = [
            stock_services.StockLine(variant_id=v.pk, quantity=rng.randint(0, high))
            for v in variants
        ]
        received += stock_services.stock_initialise(
            location=location,
            lines=[line for line in lines if line.quantity],
            reference="seed_demo",
        )
    return received


def _customer_rows(*, start: int, count: int, seed: int, stores: list[Location]) -> Iterator[dict]:
    """Yield customer field values (column names as keys), without model instances."""
    female, male = PersonNames.first_names_female, PersonNames.first_names_male
    last_names = PersonNames.last_names
    channels = [Channel.WEB, Channel.WEB, Channel.APP, Channel.STORE, Channel.PHONE]
    contact = [ContactChannel.EMAIL, ContactChannel.EMAIL, ContactChannel.SMS, ContactChannel.PUSH]
    today = date(2026, 1, 1)
    # One generator per batch of BATCH numbers: row n is the same whatever the requested total.
    rng = random.Random(seed * 1_000_003 + start)
    for number in range(start, start + count):
        is_female = rng.random() < 0.6
        first = rng.choice(female if is_female else male)
        last = rng.choice(last_names)
        store = stores[number % len(stores)] if stores else None
        yield {
            "first_name": first,
            "last_name": last,
            "email": f"{_ascii(first)}.{_ascii(last)}.{number}@demo.omni.example".replace(" ", "-"),
            "phone": f"+336{number:08d}",
            "card_number": f"OMNI{number:010d}",
            "birth_date": today - timedelta(days=rng.randint(18 * 365, 80 * 365)),
            "gender": Gender.FEMALE.value if is_female else Gender.MALE.value,
            "postal_code": store.postal_code if store else f"{rng.randint(1, 95):02d}000",
            "preferred_store_id": store.pk if store else None,
            "preferred_channel": rng.choice(contact).value,
            "language": "fr" if rng.random() < 0.9 else "en",
            "created_channel": rng.choice(channels).value,
        }


def _customer_columns() -> dict[str, object]:
    """Every concrete column but the primary key, with the value used when a row omits it."""
    now = timezone.now()
    columns = {}
    for model_field in Customer._meta.concrete_fields:
        if model_field.primary_key:
            continue
        if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
            columns[model_field.column] = now
        else:
            columns[model_field.column] = model_field.get_default()
    return columns


def _copy_customers(rows: list[dict]) -> None:
    """COPY the rows into a temporary table, then insert the new ones in one statement (ON
    CONFLICT DO NOTHING keeps the seed idempotent)."""
    defaults = _customer_columns()
    names = list(defaults)
    table = Customer._meta.db_table
    column_list = ", ".join(f'"{name}"' for name in names)
    raw = connection.connection
    with transaction.atomic(), raw.cursor() as cursor:
        # Dropped explicitly: inside an outer transaction (tests) ON COMMIT would come too late.
        cursor.execute("DROP TABLE IF EXISTS pg_temp.seed_customers")
        cursor.execute(
            f"CREATE TEMP TABLE seed_customers AS SELECT {column_list} FROM {table} WITH NO DATA"
        )
        with cursor.copy(f"COPY seed_customers ({column_list}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row.get(name, defaults[name]) for name in names])
        cursor.execute(
            f"INSERT INTO {table} ({column_list}) SELECT {column_list} "
            f"FROM seed_customers ON CONFLICT DO NOTHING"
        )
        cursor.execute("DROP TABLE seed_customers")


def seed_customers(*, count: int, seed: int, stores: list[Location]) -> int:
    """Insert customers 0..count-1 in batches; return how many were new."""
    before = Customer.objects.count()
    connection.ensure_connection()
    for start in range(0, count, BATCH):  # batches start at multiples of BATCH: see above
        rows = list(
            _customer_rows(start=start, count=min(BATCH, count - start), seed=seed, stores=stores)
        )
        _copy_customers(rows)
    return Customer.objects.count() - before


def seed_users(*, locations: list[Location]) -> list[DemoUser]:
    """Create one demo login per role, linked to its stores."""
    User = get_user_model()
    by_code = {location.code: location for location in locations}
    for demo in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=demo.username,
            defaults={
                "is_staff": demo.superuser or demo.role in (roles.SERVICE_AGENT,),
                "is_superuser": demo.superuser,
                "first_name": demo.username.capitalize(),
                # Where a marketer's "send me a test" goes (the console e-mail backend by default).
                "email": f"{demo.username}@demo.omni.example",
            },
        )
        if created:
            user.set_password(demo.password)
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=demo.role.name))
        profile, _ = StaffProfile.objects.get_or_create(user=user)
        stores = [by_code[code] for code in demo.store_codes if code in by_code]
        profile.stores.add(*stores)
        if stores and profile.default_store_id is None:
            profile.default_store = stores[0]
            profile.save(update_fields=["default_store"])
    return list(DEMO_USERS)


# Share of the demo customers who opted in, per channel (a marketer's segment reaches them).
CONSENT_SHARES = {ContactChannel.EMAIL: 0.7, ContactChannel.SMS: 0.4, ContactChannel.PUSH: 0.2}


def seed_consents(*, seed: int, batch: int = 2_000) -> int:
    """Marketing consents of the customers who have none yet (history and current state), so
    campaigns have someone to reach; deterministic for a seed. Returns the consents written."""
    written = 0
    now = timezone.now()
    pending = Customer.objects.filter(consent_events__isnull=True).order_by("pk")
    ids = list(pending.values_list("pk", "email", "phone"))
    for start in range(0, len(ids), batch):
        events = []
        for pk, email, phone in ids[start : start + batch]:
            rng = random.Random(f"{seed}:{pk}")
            for channel, share in CONSENT_SHARES.items():
                has_address = {ContactChannel.EMAIL: email, ContactChannel.SMS: phone}
                if rng.random() < share and has_address.get(channel, True):
                    events.append(
                        ConsentEvent(
                            customer_id=pk,
                            channel=channel,
                            action=ConsentAction.GRANTED,
                            opt_in_level=OptInLevel.SINGLE,
                            reason="",
                            source_channel=Channel.WEB,
                            text_version="demo",
                        )
                    )
        with transaction.atomic():
            ConsentEvent.objects.bulk_create(events)
            ConsentState.objects.bulk_create(
                ConsentState(
                    customer_id=event.customer_id,
                    channel=event.channel,
                    granted=True,
                    opt_in_level=event.opt_in_level,
                    reason="",
                    last_event_id=event.pk,
                    updated_at=now,
                )
                for event in events
            )
        written += len(events)
    return written


# Share of the customers with a push consent whose app is installed (a device registered): the
# rest consented once and have no device left, so a push campaign leaves them out.
DEVICE_SHARE = 0.8
DEMO_PLATFORMS = [DevicePlatform.ANDROID, DevicePlatform.ANDROID, DevicePlatform.IOS]


def seed_devices(*, seed: int, batch: int = 2_000) -> int:
    """An app installation for most customers who granted push and have no device yet
    (deterministic for a seed, a made-up token each). Returns the devices written."""
    now = timezone.now()
    pending = (
        Customer.objects.filter(consents__channel=ContactChannel.PUSH, consents__granted=True)
        .filter(devices__isnull=True)
        .order_by("pk")
    )
    ids = list(pending.values_list("pk", flat=True))
    written = 0
    for start in range(0, len(ids), batch):
        devices = []
        for pk in ids[start : start + batch]:
            rng = random.Random(f"{seed}:device:{pk}")
            if rng.random() < DEVICE_SHARE:
                devices.append(
                    Device(
                        customer_id=pk,
                        platform=rng.choice(DEMO_PLATFORMS),
                        token=f"demo-{seed}-{pk}-{rng.getrandbits(64):016x}",
                        app_version="4.2.0",
                        last_seen_at=now,
                    )
                )
        Device.objects.bulk_create(devices, ignore_conflicts=True)
        written += len(devices)
    return written


def seed(
    *,
    customers: int,
    products: int,
    stores: int,
    seed: int,
    orders_per_customer: int = 2,
    campaigns: bool = False,
) -> dict[str, int]:
    """Build the whole demo data set; return counts of what exists afterwards. `campaigns`
    adds the marketer's history (seed_demo does; the benchmarks, which bring their own, not)."""
    rng = random.Random(seed)
    with transaction.atomic():
        locations = seed_locations(stores=stores)
        variants = seed_catalogue(products=products, rng=rng)
        seed_stock(locations=locations, variants=variants, rng=rng)
        seed_users(locations=locations)
    store_list = [location for location in locations if location.is_store]
    seed_customers(count=customers, seed=seed, stores=store_list)
    seed_consents(seed=seed)
    seed_devices(seed=seed)
    seed_orders(orders_per_customer=orders_per_customer, seed=seed)
    if campaigns:
        seed_campaigns(seed=seed, sales=orders_per_customer > 0)
    return {
        "locations": Location.objects.count(),
        "variants": Variant.objects.count(),
        "customers": Customer.objects.count(),
        "orders": Order.objects.count(),
        "campaigns": Campaign.objects.count(),
    }
