"""bench/campaign.py's materialising process: launch a campaign in a process of its own, so that
its peak memory (VmHWM) is the launch's and nothing else's.

.venv/bin/python bench/campaign_materialise.py --database-url URL --campaign ID
                                               [--rollback] [--export FILE]

Prints one JSON line: seconds, messages, held_out, peak RSS (MB) before and after the launch.
With --rollback the launch runs inside a transaction that is rolled back (its dispatch task,
queued on commit, is never sent); --export first writes the rows it inserted to FILE with
COPY ... TO STDOUT, streamed, for bench/campaign.py's COPY baseline.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from _support import setup_django


class RolledBack(Exception):
    pass


def peak_rss_mb() -> float:
    """This process's peak resident memory, in MB.

    VmHWM, the high-water mark of the process's own memory map, created at exec. getrusage's
    ru_maxrss is not used where available: Linux carries it over from the forking parent, so
    it would report bench/campaign.py's memory, not the materialiser's."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def message_columns() -> list[str]:
    """Every column materialisation writes (the id comes from the sequence, as it does there)."""
    from campaigns.models import Message

    return [field.column for field in Message._meta.concrete_fields if not field.primary_key]


def export(path: str, *, campaign_id: int, run: str) -> None:
    from django.db import connection

    from campaigns.models import Message

    columns = ", ".join(connection.ops.quote_name(name) for name in message_columns())
    table = connection.ops.quote_name(Message._meta.db_table)
    query = f"COPY (SELECT {columns} FROM {table} WHERE campaign_id = {int(campaign_id)} "
    query += f"AND run = '{run}') TO STDOUT"  # an int and a run key we made
    raw = connection.connection
    with open(path, "wb") as handle, raw.cursor() as cursor, cursor.copy(query) as copy:
        for chunk in copy:
            handle.write(chunk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--campaign", type=int, required=True)
    parser.add_argument("--rollback", action="store_true")
    parser.add_argument("--export", default="")
    args = parser.parse_args()

    setup_django(args.database_url)
    from django.db import connection, transaction

    from campaigns.models import Campaign
    from campaigns.services import campaign_launch

    campaign = Campaign.objects.get(pk=args.campaign)
    connection.ensure_connection()
    before = peak_rss_mb()
    started = time.perf_counter()
    try:
        with transaction.atomic():
            result = campaign_launch(campaign=campaign)
            seconds = time.perf_counter() - started  # rolled back: no commit to count
            after = peak_rss_mb()
            if args.export:
                export(args.export, campaign_id=campaign.pk, run=result.run)
            if args.rollback:
                raise RolledBack
        seconds = time.perf_counter() - started  # committed: the commit counts
    except RolledBack:
        pass
    committed_at = time.time()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "messages": result.messages,
                "held_out": result.held_out,
                "rss_before_mb": round(before, 1),
                "peak_rss_mb": round(after, 1),
                "committed_at": committed_at,
            }
        )
    )


if __name__ == "__main__":
    main()
