"""Materialisation: a campaign's audience becomes Message rows, in the database, so no customer
is ever loaded into Python memory: the segment and the rules are evaluated once, set-based, into
a temporary table of the audience, then one INSERT ... SELECT reads it (in "preferred" mode,
where each customer gets one channel; one per channel in "all" mode, plus one for the holdout)."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    CharField,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat, Mod

from campaigns import rules
from campaigns.models import (
    AudienceMember,
    Campaign,
    CampaignVariant,
    ChannelMode,
    Message,
    MessageStatus,
)
from campaigns.selectors import segment_members
from customers.models import ContactChannel

# Independent multiplicative hashes of the customer id: holdout, variant and A/B test buckets
# 0-99. The test hash (7 modulo 100) spreads the test share evenly over the variant buckets.
HOLDOUT_HASH, VARIANT_HASH, TEST_HASH = 2_654_435_761, 40_503, 1_000_007
PREFIX = "message_"


def _bucket(multiplier: int, campaign: Campaign) -> Mod:
    # bigint: bound server-side, an int4 parameter could not hold HOLDOUT_HASH.
    big = BigIntegerField()
    return Mod(
        F("pk") * Value(multiplier, output_field=big) + Value(campaign.pk, output_field=big),
        Value(100, output_field=big),
        output_field=big,
    )


def _variant_case(campaign: Campaign) -> Case:
    whens, upper = [], 0
    for variant in campaign.variants.order_by("name"):
        upper += variant.split_percent
        whens.append(When(variant_bucket__lt=upper, then=Value(variant.pk)))
    return Case(*whens, default=Value(None), output_field=IntegerField())


def _insert(queryset: QuerySet, columns: dict, *, skip_existing: bool = True) -> int:
    """INSERT INTO message (columns) SELECT ... ON CONFLICT (idempotency_key) DO NOTHING.

    `skip_existing=False` drops the ON CONFLICT clause, for a caller that knows no row can
    hold one of the keys it inserts: checking each row's key against the unique index first
    (a speculative insertion) cost a 75,000-message launch 0.4 s, a fifth of its INSERT. A
    key that is there after all then fails the statement (IntegrityError), nothing written."""
    # Prefixed aliases: the source may have columns of the same names (created_at...).
    aliased = {f"{PREFIX}{name}": expression for name, expression in columns.items()}
    selected = queryset.order_by().annotate(**aliased).values(*aliased)
    compiler = selected.query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    # The SELECT's column order, read from the compiler rather than assumed.
    names = [alias.removeprefix(PREFIX) for _expression, _sql, alias in compiler.select]
    column_list = ", ".join(connection.ops.quote_name(name) for name in names)
    table = connection.ops.quote_name(Message._meta.db_table)
    conflict = " ON CONFLICT (idempotency_key) DO NOTHING" if skip_existing else ""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({column_list}) {sql}{conflict}", params)
        return cursor.rowcount


def _reach(channel: str) -> Q:
    """`rules.reachable_on`, read from the audience table's column."""
    return Q(**{f"reach_{channel}": True})


def _audience(campaign: Campaign, now: dt.datetime) -> QuerySet[AudienceMember]:
    """The segment and the rules that are the same on every channel, evaluated once into the
    temporary table of AudienceMember (dropped at commit), with what the channel rules read of
    each member (consent and address per channel computed once, not once per reference): the
    INSERTs then read this narrow table instead of evaluating the segment against all customers
    again (once per channel and for the holdout; in "preferred" mode, the single INSERT would
    otherwise probe the consents once per reference, 25 of them). ANALYZEd: their plans know
    its size."""
    members = rules.shared_rules(
        segment_members(segment=campaign.segment, now=now), campaign=campaign, now=now
    )
    reach = {
        f"reach_{channel}": ExpressionWrapper(
            rules.reachable_on(channel) if channel in campaign.channel_list else Value(False),
            output_field=BooleanField(),
        )
        for channel in ContactChannel.values
    }
    selected = (
        members.order_by().annotate(**reach).values("pk", "country", "preferred_channel", *reach)
    )
    compiler = selected.query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    columns = ["id" if alias == "pk" else alias for _expression, _sql, alias in compiler.select]
    table = connection.ops.quote_name(AudienceMember._meta.db_table)
    with connection.cursor() as cursor:
        # For the rest of the launch's transaction (bench/campaign.py, 200,000 customers):
        # - each statement covers the whole audience (hash joins over a few hundred thousand
        #   rows): its cost is above jit_above_cost, and compiling it took longer than running
        #   it (8x slower with JIT);
        # - the statistics know none of this run's messages (this transaction writes them), so
        #   "already reached" became a nested loop over every message the previous channel had
        #   just inserted: quadratic (68 s instead of 8 s; a replay 107 s instead of 4.5 s).
        # One round trip (several statements are allowed without parameters), then the table,
        # created from the SELECT: without a primary key (the INSERTs hash-join it) and written
        # in bulk, 15% faster than CREATE then INSERT ... SELECT into a keyed table.
        cursor.execute(
            "SELECT set_config('jit', 'off', true), set_config('enable_nestloop', 'off', true);"
            f"DROP TABLE IF EXISTS {table}"
        )
        cursor.execute(
            f"CREATE TEMPORARY TABLE {table} ({', '.join(columns)}) ON COMMIT DROP AS {sql}",
            params,
        )
        # Its size and ids are what the INSERTs' plans need (the join keys): ANALYZE of that
        # column alone, a third of the whole table's.
        cursor.execute(f"ANALYZE {table} (id)")
    return AudienceMember.objects.all()


def _key(campaign: Campaign, run: str, variant: Value | Case, channel: str | F) -> Concat:
    """c<campaign>-<run>-v<variant>-u<customer>-<channel or "holdout">; `channel` a name, or
    the expression of the one chosen per customer."""
    text = CharField()
    if isinstance(channel, str):
        suffix: Value | Concat = Value(f"-{channel or 'holdout'}")
    else:
        suffix = Concat(Value("-"), channel, output_field=text)
    return Concat(
        Value(f"c{campaign.pk}-{run}-v"),
        Cast(variant, text),
        Value("-u"),
        Cast(F("pk"), text),
        suffix,
        output_field=text,
    )


def _common(campaign: Campaign, run: str, now: dt.datetime) -> dict:
    return {
        "campaign_id": Value(campaign.pk),
        "customer_id": F("pk"),
        "run": Value(run),
        "created_at": Value(now),
        "attempts": Value(0),
        "skip_reason": Value(""),
        "last_error": Value(""),
        "recipient": Value(""),
        "provider_id": Value(""),
    }


def _holdout(
    campaign: Campaign,
    members: QuerySet,
    per_channel: dict,
    run: str,
    now: dt.datetime,
    *,
    skip_existing: bool,
) -> int:
    reachable = Q(pk__in=[])
    for queryset in per_channel.values():
        reachable |= Q(pk__in=queryset.values("pk"))
    holdout = members.filter(reachable, holdout_bucket__lt=campaign.holdout_percent)
    return _insert(
        holdout,
        {
            **_common(campaign, run, now),
            "variant_id": Value(None, output_field=IntegerField()),
            "channel": Value(""),
            "status": Value(MessageStatus.HELD_OUT.value),
            "not_before": Value(now),
            "idempotency_key": _key(campaign, run, Value("x"), ""),
        },
        skip_existing=skip_existing,
    )


def materialise(
    *, campaign: Campaign, run: str, now: dt.datetime, winner: CampaignVariant | None = None
) -> tuple[int, int]:
    """Insert the run's messages (and holdout rows); return (messages, held out) inserted.

    An A/B test with an automatic winner goes in two phases: at launch (`winner` None) only
    the test share is materialised, split across the variants; once the winner is chosen, the
    rest of the audience gets `winner`, except anyone who already has another variant's
    message in this run (nobody receives two variants).

    The caller holds the materialisation lock (campaigns.services.delivery.materialise_turn):
    no one else writes this run's messages meanwhile. So the first materialisation of a run,
    when it has no message yet, inserts plain rows (its keys cannot be there); a replay, or the
    winner's phase, inserts ON CONFLICT DO NOTHING and leaves out whom the run already reached.
    """
    started = Message.objects.filter(campaign=campaign, run=run).exists()
    members = _audience(campaign, now).alias(
        holdout_bucket=_bucket(HOLDOUT_HASH, campaign),
        variant_bucket=_bucket(VARIANT_HASH, campaign),
        test_bucket=_bucket(TEST_HASH, campaign),
    )
    per_channel = {
        channel: members.filter(
            rules.channel_rules(
                campaign=campaign, channel=channel, run=run, now=now, reachable=_reach
            )
        )
        for channel in campaign.channel_list
    }
    held_out = 0
    if campaign.holdout_percent:
        held_out = _holdout(campaign, members, per_channel, run, now, skip_existing=started)
    countries = rules.configured_countries()
    if winner is not None:
        other_variant = Message.objects.filter(
            customer=OuterRef("pk"), campaign=campaign, run=run
        ).exclude(variant=winner)
        variant: Value | Case = Value(winner.pk)
    else:
        variant = _variant_case(campaign)

    def narrowed(queryset: QuerySet) -> QuerySet:
        queryset = queryset.filter(holdout_bucket__gte=campaign.holdout_percent)
        if winner is not None:
            return queryset.exclude(Exists(other_variant))
        if campaign.winner_metric:
            return queryset.filter(test_bucket__lt=campaign.test_percent)
        return queryset

    def not_before_on(channel: str) -> Case | Value:
        return rules.not_before(channel=channel, now=now, countries=countries)

    def columns(channel: str | F, not_before: Case | Value) -> dict:
        return {
            **_common(campaign, run, now),
            "variant_id": variant,
            "channel": Value(channel) if isinstance(channel, str) else channel,
            "status": Value(MessageStatus.PENDING.value),
            "not_before": not_before,
            "idempotency_key": _key(campaign, run, variant, channel),
        }

    if campaign.channel_mode == ChannelMode.PREFERRED:
        # One channel per customer: one statement for all of them (the audience table, the cap's
        # GROUP BY and "already reached" read once, not once per channel).
        audience = narrowed(_one_channel_each(campaign, members, run=run, now=now, started=started))
        not_before: Case | Value = Case(
            *(
                When(chosen_channel=channel, then=not_before_on(channel))
                for channel in campaign.channel_list
            ),
            output_field=DateTimeField(),
        )
        inserted = _insert(
            audience, columns(F("chosen_channel"), not_before), skip_existing=started
        )
        return inserted, held_out
    inserted = 0
    for channel, queryset in per_channel.items():
        not_before = not_before_on(channel)
        inserted += _insert(narrowed(queryset), columns(channel, not_before), skip_existing=started)
    return inserted, held_out


def _one_channel_each(
    campaign: Campaign, members: QuerySet, *, run: str, now: dt.datetime, started: bool
) -> QuerySet:
    """In "preferred" mode, each customer with the first channel of the campaign the rules choose
    for her (`rules.channel_rules`: at most one does), under the frequency cap and not
    yet reached by this run. The same rows as one INSERT per channel in the campaign's order."""
    chosen = Case(
        *(
            When(
                _reach(channel)
                & rules.chosen_channel(campaign=campaign, channel=channel, reachable=_reach),
                then=Value(channel),
            )
            for channel in campaign.channel_list
        ),
        default=Value(None),
        output_field=CharField(),
    )
    audience = members.alias(chosen_channel=chosen).filter(
        rules.under_cap(now=now), chosen_channel__isnull=False
    )
    if started:
        audience = audience.exclude(rules.already_reached(campaign=campaign, run=run, channel=None))
    return audience
