"""bench/campaign.py's data: seed_demo's customers and orders, plus what a campaign looks at.

Consents (with their events), a few suppressed (erased-identity) profiles and customers already
at the frequency cap are written set-based, straight into the tables, like demo/orders.py
writes orders: benchmark data, not business operations. Every statement only adds what is
missing, so growing the base from 50,000 to 200,000 customers keeps the first 50,000 as they were.
Which customer gets what is a fixed hash of her id, not a random draw: reruns are identical.
"""

from __future__ import annotations

import datetime as dt
import time

from django.db import connection
from django.utils import timezone

SHARES = {"email": 70, "sms": 40, "push": 30}  # % of customers who granted marketing consent
HASHES = {"email": 7_919, "sms": 104_729, "push": 15_485_863}
SUPPRESSED_PERCENT = 1  # profiles matching an erased identity: never targeted
AT_CAP_PERCENT = 5  # customers who already received as many messages as the cap allows


def seed(*, customers: int) -> float:
    """Grow the base to `customers` (idempotent); return the seconds it took."""
    from demo import seed as demo

    started = time.perf_counter()
    demo.seed(customers=customers, products=40, stores=10, seed=1, orders_per_customer=2)
    now = timezone.now()
    with connection.cursor() as cursor:
        for channel in SHARES:
            _consents(cursor, channel=channel, now=now)
        _suppressed(cursor)
        _at_cap(cursor, now=now)
        # As autovacuum would after a load this size: statistics, and the visibility map that
        # lets the consent lookups read their index alone.
        cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _consents(cursor, *, channel: str, now: dt.datetime) -> None:
    """A granted consent (event + current state) for SHARES[channel] % of the customers."""
    from customers.models import ConsentEvent, ConsentState, Customer

    events, states, customers = _table(ConsentEvent), _table(ConsentState), _table(Customer)
    cursor.execute(
        f"""
        INSERT INTO {events} (customer_id, channel, action, opt_in_level, reason, source_channel,
                              text_version, evidence, created_at)
        SELECT c.id, %(channel)s::varchar, 'granted', 'single', '', 'web', 'bench', '', %(now)s
        FROM {customers} c
        WHERE (c.id * %(hash)s) %% 100 < %(share)s
          AND NOT EXISTS (SELECT 1 FROM {states} s
                          WHERE s.customer_id = c.id AND s.channel = %(channel)s::varchar)
        """,
        {"channel": channel, "now": now, "hash": HASHES[channel], "share": SHARES[channel]},
    )
    cursor.execute(
        f"""
        INSERT INTO {states} (customer_id, channel, granted, opt_in_level, reason,
                              last_event_id, updated_at)
        SELECT e.customer_id, e.channel, true, e.opt_in_level, '', e.id, e.created_at
        FROM {events} e
        WHERE e.channel = %(channel)s AND e.text_version = 'bench'
        ON CONFLICT (customer_id, channel) DO NOTHING
        """,
        {"channel": channel},
    )


def _suppressed(cursor) -> None:
    from customers.models import Customer

    cursor.execute(
        f"UPDATE {_table(Customer)} SET suppressed = true "
        f"WHERE (id * 31) %% 100 < %s AND NOT suppressed",
        [SUPPRESSED_PERCENT],
    )


def _at_cap(cursor, *, now: dt.datetime) -> None:
    """Messages of an earlier campaign, yesterday: AT_CAP_PERCENT % of customers are at the cap."""
    from campaigns.models import Campaign, Message
    from campaigns.rules import frequency_cap
    from customers.models import Customer

    earlier = Campaign.objects.get(name="bench: earlier campaign")
    cursor.execute(
        f"""
        INSERT INTO {_table(Message)} (campaign_id, customer_id, run, channel, idempotency_key,
            status, skip_reason, not_before, attempts, last_error, recipient, provider_id,
            created_at, sent_at)
        SELECT %(campaign)s, c.id, 'earlier', 'email', 'bench-earlier-' || c.id || '-' || n,
               'sent', '', %(at)s, 1, '', '', '', %(at)s, %(at)s
        FROM {_table(Customer)} c CROSS JOIN generate_series(1, %(cap)s) AS n
        WHERE (c.id * 257) %% 100 < %(share)s
        ON CONFLICT (idempotency_key) DO NOTHING
        """,
        {
            "campaign": earlier.pk,
            "at": now - dt.timedelta(days=1),
            "cap": frequency_cap().messages,
            "share": AT_CAP_PERCENT,
        },
    )
