"""Segment rules: validated JSON compiled to one database query over customers.

A rule is a group or a condition:

    {"all": [rule, ...]}    every rule holds          {"any": [rule, ...]}  at least one holds
    {"not": rule}           the rule does not hold
    {"field": "age", "op": "between", "value": [25, 40]}
    {"field": "bought_product", "op": "in", "value": [12], "days": 30}

Each field is a `ConditionType` in `REGISTRY`: the operators it accepts, the type of its value,
its optional parameters, and how it becomes a `Q` (Exists / Subquery / lookups, never a Python
loop over customers). `validate_rules` refuses a bad rule with the path to it and the reason;
`compile_rules` turns a valid rule into a `Q` on `Customer`. Register more fields with
`register(ConditionType(...))` (engagement fields live in campaigns/engagement.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Exists, Expression, F, OuterRef, Q, Subquery
from django.utils.translation import gettext as _

Value = Any
GROUPS = ("all", "any", "not")
MAX_DEPTH = 8


class SegmentRuleError(ValidationError):
    """A rule that cannot be compiled; `path` points into the JSON ("all[1].value")."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}", code="invalid_rule", params={"path": path})


@dataclass(frozen=True)
class Condition:
    """One validated condition, as a compiler function receives it."""

    field: str
    op: str
    value: Value
    options: dict[str, Value]
    now: dt.datetime

    def since(self, days: int | None = None) -> dt.datetime | None:
        """The start of the `days` option's window (or of `days`), None when there is none."""
        days = self.options.get("days") if days is None else days
        return None if days is None else self.now - dt.timedelta(days=days)


# --- value kinds: each parses a JSON value or raises ValueError with the reason ---------------


def _integer(raw: Value) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError(_("expected a whole number, got %(value)r") % {"value": raw})
    if raw < 0:
        raise ValueError(_("expected a number of at least 0, got %(value)r") % {"value": raw})
    return raw


def _decimal(raw: Value) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueError(_("expected an amount, got %(value)r") % {"value": raw})
    try:
        amount = Decimal(str(raw))
    except InvalidOperation:
        raise ValueError(_("expected an amount, got %(value)r") % {"value": raw}) from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(_("expected a positive amount, got %(value)r") % {"value": raw})
    return amount


def _text(raw: Value) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(_("expected a non-empty text, got %(value)r") % {"value": raw})
    return raw.strip()


def _date(raw: Value) -> dt.date:
    if not isinstance(raw, str):
        raise ValueError(_("expected a date (YYYY-MM-DD), got %(value)r") % {"value": raw})
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValueError(
            _("expected a date (YYYY-MM-DD), got %(value)r") % {"value": raw}
        ) from None


def _list_of(parse: Callable[[Value], Value]) -> Callable[[Value], list]:
    def parse_list(raw: Value) -> list:
        if not isinstance(raw, list) or not raw:
            raise ValueError(_("expected a non-empty list, got %(value)r") % {"value": raw})
        return [parse(item) for item in raw]

    return parse_list


def _range_of(parse: Callable[[Value], Value]) -> Callable[[Value], tuple]:
    def parse_range(raw: Value) -> tuple:
        if not isinstance(raw, list) or len(raw) != 2:
            raise ValueError(_("expected [minimum, maximum], got %(value)r") % {"value": raw})
        low, high = parse(raw[0]), parse(raw[1])
        if low > high:
            raise ValueError(_("the minimum is above the maximum: %(value)r") % {"value": raw})
        return low, high

    return parse_range


def _choice(choices: tuple[str, ...]) -> Callable[[Value], str]:
    def parse_choice(raw: Value) -> str:
        if raw not in choices:
            raise ValueError(
                _("expected one of %(choices)s, got %(value)r")
                % {"choices": ", ".join(choices), "value": raw}
            )
        return raw

    return parse_choice


# --- the registry ------------------------------------------------------------------------------

Compiler = Callable[[Condition], Q]


@dataclass(frozen=True)
class ConditionType:
    """A field a rule may name: per operator, how its value is parsed; and how it compiles.

    `compile_any`, when given, compiles several conditions on this field that sit in one "any"
    group, together: the same customers as their compiled `Q`s OR'd, in a form the database
    runs better (consent on e-mail or SMS: one EXISTS over both channels, which PostgreSQL
    joins once, rather than two it must probe for every customer)."""

    field: str
    label: str
    operators: dict[str, Callable[[Value], Value]]
    compile: Compiler
    options: dict[str, Callable[[Value], Value]] = field(default_factory=dict)
    required_options: tuple[str, ...] = ()
    compile_any: Callable[[list[Condition]], Q] | None = None


REGISTRY: dict[str, ConditionType] = {}


def register(condition_type: ConditionType) -> ConditionType:
    """Add a field to the rules marketers can write (its name must be new)."""
    if condition_type.field in REGISTRY or condition_type.field in GROUPS:
        raise ValueError(f"segment field {condition_type.field!r} is already registered")
    REGISTRY[condition_type.field] = condition_type
    return condition_type


# --- validation and compilation ------------------------------------------------------------


def _node_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check_condition(node: dict, path: str) -> tuple[ConditionType, str, Value, dict]:
    name = node.get("field")
    if not isinstance(name, str) or name not in REGISTRY:
        raise SegmentRuleError(
            _node_path(path, "field"), _("unknown field %(field)r") % {"field": name}
        )
    kind = REGISTRY[name]
    op = node.get("op")
    if op not in kind.operators:
        raise SegmentRuleError(
            _node_path(path, "op"),
            _("operator %(op)r is not allowed for %(field)s (allowed: %(allowed)s)")
            % {"op": op, "field": name, "allowed": ", ".join(kind.operators)},
        )
    if "value" not in node:
        raise SegmentRuleError(_node_path(path, "value"), _("a value is required"))
    try:
        value = kind.operators[op](node["value"])
    except ValueError as exc:
        raise SegmentRuleError(_node_path(path, "value"), str(exc)) from None
    options = {}
    for key, raw in node.items():
        if key in ("field", "op", "value"):
            continue
        if key not in kind.options:
            raise SegmentRuleError(
                _node_path(path, key),
                _("unknown parameter %(key)r for %(field)s") % {"key": key, "field": name},
            )
        try:
            options[key] = kind.options[key](raw)
        except ValueError as exc:
            raise SegmentRuleError(_node_path(path, key), str(exc)) from None
    for key in kind.required_options:
        if key not in options:
            raise SegmentRuleError(_node_path(path, key), _("this parameter is required"))
    return kind, op, value, options


def _walk(node: Value, path: str, depth: int, now: dt.datetime | None) -> Q:
    """Validate `node` and, when `now` is given, compile it (one pass for both)."""
    if depth > MAX_DEPTH:
        raise SegmentRuleError(path or "rules", _("groups are nested too deeply"))
    if not isinstance(node, dict):
        raise SegmentRuleError(path or "rules", _("expected an object (a group or a condition)"))
    groups = [key for key in GROUPS if key in node]
    if groups:
        if len(node) != 1:
            raise SegmentRuleError(
                path or "rules", _("a group has exactly one key: all, any or not")
            )
        key = groups[0]
        if key == "not":
            return ~_walk(node["not"], _node_path(path, "not"), depth + 1, now)
        children = node[key]
        if not isinstance(children, list) or not children:
            raise SegmentRuleError(_node_path(path, key), _("expected a non-empty list of rules"))
        if key == "any":
            return _any_group(children, _node_path(path, key), depth + 1, now)
        compiled = Q()
        for index, child in enumerate(children):
            compiled &= _walk(child, f"{_node_path(path, key)}[{index}]", depth + 1, now)
        return compiled
    kind, op, value, options = _check_condition(node, path)
    if now is None:
        return Q()
    return kind.compile(Condition(field=kind.field, op=op, value=value, options=options, now=now))


def _any_group(children: list, path: str, depth: int, now: dt.datetime | None) -> Q:
    """An "any" group: its rules OR'd, those on a field with `compile_any` compiled together."""
    parts: list[Q] = []
    together: dict[str, list[Condition]] = {}
    for index, child in enumerate(children):
        child_path = f"{path}[{index}]"
        kind = REGISTRY.get(child.get("field")) if isinstance(child, dict) else None
        if kind is None or kind.compile_any is None or depth > MAX_DEPTH:
            parts.append(_walk(child, child_path, depth, now))
            continue
        _kind, op, value, options = _check_condition(child, child_path)
        if now is not None:
            condition = Condition(field=kind.field, op=op, value=value, options=options, now=now)
            together.setdefault(kind.field, []).append(condition)
    if now is None:  # validated only
        return Q()
    for name, same_field in together.items():
        kind = REGISTRY[name]
        parts.append(
            kind.compile(same_field[0]) if len(same_field) == 1 else kind.compile_any(same_field)
        )
    compiled = parts[0]
    for part in parts[1:]:
        compiled |= part
    return compiled


def validate_rules(rules: Value) -> None:
    """Raise SegmentRuleError (a ValidationError naming the rule) if `rules` cannot compile."""
    _walk(rules, "", 0, None)


def compile_rules(rules: Value, *, now: dt.datetime) -> Q:
    """The `Q` on Customer that selects who matches `rules` at `now`.

    Raises:
        SegmentRuleError: a rule names an unknown field, a bad operator or a wrong value.
    """
    return _walk(rules, "", 0, now)


# --- helpers the condition modules share -------------------------------------------------------


def compare(lookup_base: str, op: str, value: Value) -> Q:
    """A Q comparing `lookup_base` with a value by one of the common operators."""
    if op == "between":
        return Q(**{f"{lookup_base}__gte": value[0], f"{lookup_base}__lte": value[1]})
    lookup = {"eq": "exact", "gte": "gte", "lte": "lte", "gt": "gt", "lt": "lt", "in": "in"}[op]
    return Q(**{f"{lookup_base}__{lookup}": value})


def exists(queryset) -> Q:
    """Q(Exists(...)) so that it composes with &, | and ~ like any other rule."""
    return Q(Exists(queryset))


def outer_customer() -> OuterRef:
    return OuterRef("pk")


class AmongGroups(Expression):
    """True when the outer customer's id is one of the `customer` values a grouped queryset yields
    (`... .values("customer").annotate(n=Count("pk")).filter(n__gte=3)`).

    A count or a sum per customer compared with a value, as a correlated Subquery, runs once per
    customer. Rendered as `EXISTS (SELECT 1 FROM (<grouped>) g WHERE g.customer = <outer id>)`
    instead, PostgreSQL aggregates the inner rows once (one GROUP BY) and hash-joins the result:
    a semi join, or an anti join under NOT, whose cost does not grow with the customers scanned.
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, grouped, column: str = "customer") -> None:
        super().__init__(output_field=BooleanField())
        self.grouped = grouped if isinstance(grouped, Subquery) else Subquery(grouped)
        self.outer = F("pk")
        self.column = column

    def get_source_expressions(self):
        return [self.grouped, self.outer]

    def set_source_expressions(self, expressions):
        self.grouped, self.outer = expressions

    def as_sql(self, compiler, connection):
        grouped_sql, grouped_params = compiler.compile(self.grouped)
        outer_sql, outer_params = compiler.compile(self.outer)
        column = connection.ops.quote_name(self.column)
        sql = (
            f"EXISTS (SELECT 1 FROM {grouped_sql} AS among_groups "
            f"WHERE among_groups.{column} = {outer_sql})"
        )
        return sql, (*grouped_params, *outer_params)


def among_groups(grouped, column: str = "customer") -> Q:
    """Q(AmongGroups(...)): composes with &, | and ~ like any other rule."""
    return Q(AmongGroups(grouped, column))


def numeric_operators(parse: Callable[[Value], Value]) -> dict[str, Callable[[Value], Value]]:
    return {
        "eq": parse,
        "gte": parse,
        "lte": parse,
        "gt": parse,
        "lt": parse,
        "between": _range_of(parse),
    }


def choice_operators(choices: tuple[str, ...]) -> dict[str, Callable[[Value], Value]]:
    return {"eq": _choice(choices), "in": _list_of(_choice(choices))}


integer, decimal, text, date, list_of, range_of, choice = (
    _integer,
    _decimal,
    _text,
    _date,
    _list_of,
    _range_of,
    _choice,
)

# The built-in fields register themselves on import.
from campaigns import conditions  # noqa: E402, F401
