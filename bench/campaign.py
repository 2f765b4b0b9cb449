"""Benchmark: a campaign over 200,000 customers, from the segment to the last message sent.

.venv/bin/python bench/campaign.py [--customers 200000] [--small 50000] [--sample 5000]
    [--database-url postgres://.../omni_bench] [--broker-url redis://127.0.0.1:6379/0]

On a fresh database, seeded with seed_demo's COPY code (customers, a year of orders) plus
consents, erased identities and customers at the frequency cap (bench/campaign_seed.py), an
e-mail + SMS campaign (preferred channel) promoting a lipstick goes to a segment that combines
profile (age, language), consent (e-mail or SMS) and purchases (an order in the last year).
In the same run it measures:

- the segment query: `segment_count`, median of --repeat runs;
- materialisation (the median of --repeat rounds): `campaign_launch` (segment, consent, channel
  choice, cap, suppression of recent buyers, de-duplication; the audience into a temporary table,
  then one INSERT ... SELECT for every channel), in a process of its own
  (bench/campaign_materialise.py) and rolled back, against a raw COPY of the very rows it
  inserted into the same table, also rolled back (target: <= 1.5x the COPY), and against the
  per-customer ORM loop of bench/campaign_baseline.py on --sample customers, scaled to the
  segment (target: >= 100x faster; its messages must be the ones materialisation wrote);
- peak memory of the materialising process at --small customers and at --customers
  (target: < 300 MB, and flat: the large one within 1.2x of the small one);
- dispatch: the committed launch, then 2 Celery worker processes (prefork, --concurrency=2, on
  a Redis queue of the run's own) send every message through the null backend in tasks of 200;
  messages per second from the commit to the campaign's `finished_at`;
- an immediate replay of the launch (a second beat tick): it must insert and send nothing.

Rate limits and quiet hours are lifted in bench/campaign_settings.py (see there).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _support import DEFAULT_URL, fresh_database, report, setup_django, target
from campaign_workers import celery_workers, drop_queue, wait_until_finished

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
NULL_BACKEND = "omni.messaging.backends.NullBackend"
SEGMENT = {
    "all": [
        {"field": "age", "op": "between", "value": [18, 65]},
        {"field": "language", "op": "eq", "value": "fr"},
        {
            "any": [
                {"field": "consent", "op": "granted", "value": "email"},
                {"field": "consent", "op": "granted", "value": "sms"},
            ]
        },
        {"field": "orders_count", "op": "gte", "value": 1, "days": 365},
    ]
}
PROMOTED = "P00003"  # the first beauty product of the demo catalogue: a lipstick (scenario 3)


def create_campaign(name: str, *, rules: dict, promoted=None):
    from campaigns import services
    from campaigns.models import ScheduleKind

    segment = services.segment_create(name=name, rules=rules)
    content = (
        services.ChannelContent(
            channel="email", subject="Bonjour", body="Bonjour {{ first_name }}"
        ),
        services.ChannelContent(channel="sms", body="Bonjour {{ first_name }}, -20 % ce week-end"),
    )
    return services.campaign_create(
        spec=services.CampaignSpec(
            name=name,
            segment=segment,
            channels=("email", "sms"),
            variants=(services.VariantSpec(name="A", split_percent=100, contents=content),),
            promoted_product=promoted,
            # Recurring: a replay the same day is the same run (campaigns.services.run_key).
            schedule=services.Schedule(kind=ScheduleKind.RECURRING, recurrence="0 9 * * 1"),
        )
    )


def materialiser(url: str, campaign_id: int, *, export: str = "") -> dict:
    """Launch in a process of its own, rolled back; its figures (and peak RSS)."""
    command = [sys.executable, str(BENCH_DIR / "campaign_materialise.py")]
    command += ["--database-url", url, "--campaign", str(campaign_id), "--rollback"]
    if export:
        command += ["--export", export]
    output = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def vacuum() -> None:
    """Rolled-back rows leave dead tuples: clean the table so every step starts alike."""
    from django.db import connection

    from campaigns.models import Message

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(Message._meta.db_table)}")


def copy_baseline(path: str) -> tuple[float, int]:
    """COPY the exported rows into the message table, rolled back; (seconds, rows)."""
    from campaign_materialise import message_columns
    from django.db import connection

    from campaigns.models import Message

    columns = ", ".join(connection.ops.quote_name(name) for name in message_columns())
    table = connection.ops.quote_name(Message._meta.db_table)
    raw = connection.connection
    with open(path, "rb") as handle:
        data = handle.read()
    started = time.perf_counter()
    with raw.transaction(force_rollback=True), raw.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            copy.write(data)
        seconds = time.perf_counter() - started
    return seconds, data.count(b"\n")  # text format: one line a row


def materialise_against_copy(args, campaign) -> tuple[dict, float]:
    """--repeat rounds of: the launch (rolled back), then a COPY of the rows it wrote (rolled
    back), each on a vacuumed table. The round with the median ratio is reported (a first
    round right after the seed ran up to 0.2 slower than the next ones); every round is
    printed. Peak memory is the highest of all rounds."""
    rounds = []
    for _ in range(args.repeat):
        vacuum()
        with tempfile.TemporaryDirectory() as folder:
            rows_file = str(Path(folder) / "messages.copy")
            launch = materialiser(args.database_url, campaign.pk, export=rows_file)
            vacuum()
            copy_seconds, copied = copy_baseline(rows_file)
        assert copied == launch["messages"], (copied, launch["messages"])
        print(
            f"  materialise {launch['seconds']:.2f} s, COPY {copy_seconds:.2f} s, "
            f"ratio {launch['seconds'] / copy_seconds:.2f}"
        )
        rounds.append((launch["seconds"] / copy_seconds, launch, copy_seconds))
    _ratio, launch, copy_seconds = sorted(rounds, key=lambda r: r[0])[len(rounds) // 2]
    peak = max(r[1]["peak_rss_mb"] for r in rounds)
    return {**launch, "peak_rss_mb": peak}, copy_seconds


def segment_figures(campaign, repeat: int) -> tuple[float, int]:
    from campaigns.selectors import segment_count

    durations, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        size = segment_count(rules=campaign.segment.rules)
        durations.append((time.perf_counter() - started) * 1000)
    return statistics.median(durations), size


def seed_phase(customers: int) -> float:
    from campaign_seed import seed

    seconds = seed(customers=customers)
    print(f"seeded {customers:,} customers with orders, consents and caps in {seconds:.1f} s")
    return seconds


def dispatch_phase(args, campaign) -> dict:
    """The committed launch, sent by the workers; then the replay."""
    from django.db.models import Count

    from campaigns.models import Message
    from campaigns.services import BATCH_SIZE, campaign_launch

    with celery_workers(args.database_url, concurrency=args.workers):
        started = time.perf_counter()
        launched = campaign_launch(campaign=campaign)
        launch_seconds = time.perf_counter() - started
        committed = time.time()
        finished_at = wait_until_finished(campaign.pk, timeout=args.timeout)
        dispatch_seconds = finished_at.timestamp() - committed
        started = time.perf_counter()
        replay = campaign_launch(campaign=campaign)
        replay_seconds = time.perf_counter() - started
        time.sleep(3)  # the replay's dispatch task reaches a worker and finds nothing due
    statuses = dict(
        Message.objects.filter(campaign=campaign)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return {
        "messages": launched.messages,
        "launch_seconds": launch_seconds,
        "dispatch_seconds": dispatch_seconds,
        "per_second": launched.messages / dispatch_seconds,
        "messages_per_task": BATCH_SIZE,
        "replay_seconds": replay_seconds,
        "replay_inserted": replay.messages,
        "statuses": statuses,
    }


def agreement(campaign, loop) -> bool:
    """The ORM loop's messages for its sample are exactly the ones materialisation wrote."""
    from campaigns.models import Message

    sample_ids = {customer_id for customer_id, _channel in loop.created}
    written = set(
        Message.objects.filter(campaign=campaign, customer_id__in=list(sample_ids)).values_list(
            "customer_id", "channel"
        )
    )
    return written == set(loop.created)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--small", type=int, default=50_000, help="base for the memory check")
    parser.add_argument("--sample", type=int, default=5_000, help="customers of the ORM loop")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for dispatch")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--broker-url", default=DEFAULT_BROKER, help="a redis:// URL")
    args = parser.parse_args()

    queue = f"omni-bench-campaign-{uuid.uuid4().hex[:8]}"
    url = fresh_database(args.database_url)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "campaign_settings",
            "CELERY_BROKER_URL": args.broker_url,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            **{f"OMNI_{channel}_BACKEND": NULL_BACKEND for channel in ("EMAIL", "SMS", "PUSH")},
        }
    )
    setup_django(url)
    try:
        run(args)
    finally:
        drop_queue(args.broker_url, queue)


def run(args: argparse.Namespace) -> None:
    from campaign_baseline import orm_loop
    from django.utils import timezone

    from inventory.models import Product

    create_campaign("bench: earlier campaign", rules={"field": "age", "op": "gte", "value": 0})
    seed_phase(args.small)
    campaign = create_campaign(
        "bench: campaign", rules=SEGMENT, promoted=Product.objects.get(reference=PROMOTED)
    )
    small = materialiser(args.database_url, campaign.pk)
    print(
        f"{args.small:,} customers: {small['messages']:,} messages, peak {small['peak_rss_mb']} MB"
    )
    seed_seconds = seed_phase(args.customers)

    segment_ms, segment_size = segment_figures(campaign, args.repeat)
    print(f"segment: {segment_size:,} customers in {segment_ms:.0f} ms")
    large, copy_seconds = materialise_against_copy(args, campaign)
    vacuum()
    loop = orm_loop(campaign=campaign, sample=args.sample, now=timezone.now())
    vacuum()
    loop_scaled = loop.seconds * segment_size / loop.examined
    dispatch = dispatch_phase(args, campaign)
    agrees = agreement(campaign, loop)
    figures, targets = summarise(
        args,
        seed_seconds=seed_seconds,
        segment=(segment_ms, segment_size),
        small=small,
        large=large,
        copy_seconds=copy_seconds,
        loop=(loop, loop_scaled, agrees),
        dispatch=dispatch,
    )
    report("campaign", figures, targets)


def summarise(args, *, seed_seconds, segment, small, large, copy_seconds, loop, dispatch):
    segment_ms, segment_size = segment
    loop_result, loop_scaled, agrees = loop
    materialise_seconds = large["seconds"]
    copy_ratio = materialise_seconds / copy_seconds
    loop_speedup = loop_scaled / materialise_seconds
    flatness = large["peak_rss_mb"] / small["peak_rss_mb"]
    sent = dispatch["statuses"].get("sent", 0)
    replay_clean = dispatch["replay_inserted"] == 0 and sent == dispatch["messages"]
    print(f"materialise {large['messages']:,} messages: {materialise_seconds:.2f} s")
    print(f"raw COPY of the same rows:     {copy_seconds:.2f} s   ratio {copy_ratio:.2f} (<= 1.5)")
    print(
        f"ORM loop: {loop_result.seconds:.1f} s for {loop_result.examined:,} customers, "
        f"scaled {loop_scaled:.0f} s   materialise is {loop_speedup:.0f}x faster (>= 100); "
        f"same messages: {agrees}"
    )
    print(
        f"peak RSS of the materialiser: {small['peak_rss_mb']} MB at {args.small:,} customers, "
        f"{large['peak_rss_mb']} MB at {args.customers:,} (ratio {flatness:.2f})"
    )
    print(
        f"dispatch: {dispatch['messages']:,} messages in {dispatch['dispatch_seconds']:.1f} s, "
        f"{dispatch['per_second']:,.0f}/s ({args.workers} worker processes, "
        f"{dispatch['messages_per_task']} per task); statuses {dispatch['statuses']}"
    )
    print(
        f"replay: {dispatch['replay_seconds']:.2f} s, inserted {dispatch['replay_inserted']}, "
        f"sent {sent:,} in all"
    )
    figures = {
        "customers": args.customers,
        "seed_seconds": round(seed_seconds, 1),
        "segment_size": segment_size,
        "segment_ms": round(segment_ms, 1),
        "messages": large["messages"],
        "materialise_seconds": round(materialise_seconds, 3),
        "copy_seconds": round(copy_seconds, 3),
        "materialise_vs_copy": round(copy_ratio, 3),
        "orm_loop_sample": loop_result.examined,
        "orm_loop_sample_seconds": round(loop_result.seconds, 2),
        "orm_loop_scaled_seconds": round(loop_scaled, 1),
        "orm_loop_vs_materialise": round(loop_speedup, 1),
        "orm_loop_same_messages": agrees,
        "launch_seconds": round(dispatch["launch_seconds"], 3),
        "dispatch_seconds": round(dispatch["dispatch_seconds"], 2),
        "dispatched_per_second": round(dispatch["per_second"], 1),
        "messages_per_task": dispatch["messages_per_task"],
        "worker_processes": args.workers,
        "replay_seconds": round(dispatch["replay_seconds"], 3),
        "replay_inserted": dispatch["replay_inserted"],
        "sent": sent,
        "small_customers": args.small,
        "small_messages": small["messages"],
        "peak_rss_small_mb": small["peak_rss_mb"],
        "peak_rss_large_mb": large["peak_rss_mb"],
        "rss_before_launch_mb": large["rss_before_mb"],
    }
    targets = {
        "materialise_vs_copy": target(copy_ratio, "<= 1.5", copy_ratio <= 1.5),
        "orm_loop_vs_materialise": target(
            loop_speedup, ">= 100 and the same messages", loop_speedup >= 100 and agrees
        ),
        "peak_rss_mb": target(large["peak_rss_mb"], "< 300", large["peak_rss_mb"] < 300),
        "rss_flat": target(flatness, "<= 1.2 (200k / 50k)", flatness <= 1.2),
        "replay": target(dispatch["replay_inserted"], "0 inserted, 0 sent twice", replay_clean),
    }
    return figures, targets


if __name__ == "__main__":
    sys.exit(main())
