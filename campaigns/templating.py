"""Sandboxed personalisation: message templates see only plain values we build, nothing else.

The engine has no loaders and one library of allow-listed tags (if, for, with, firstof, comment)
and filters; the context is a dict of strings, numbers, lists and dicts (`MessageContext`).
`check_template` parses a template and walks it: every variable must be a path through that
shape (`store.name`, `line.quantity` inside `{% for line in cart_lines %}`), so not even a
method of a string (`first_name.upper`) or of a list (`cart_lines.clear`) can be reached.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.template import (
    Context,
    Engine,
    Library,
    TemplateSyntaxError,
    defaultfilters,
    defaulttags,
)
from django.template.base import FilterExpression, Node, Variable
from django.template.defaulttags import ForNode, IfNode, TemplateLiteral, WithNode
from django.utils.translation import gettext as _

library = Library()
for _tag in ("if", "for", "with", "firstof", "comment"):
    library.tag(
        _tag,
        getattr(defaulttags, {"if": "do_if", "for": "do_for", "with": "do_with"}.get(_tag, _tag)),
    )
for _filter in (
    "default",
    "upper",
    "lower",
    "title",
    "capfirst",
    "floatformat",
    "date",
    "length",
    "first",
    "last",
    "join",
    "truncatechars",
    "truncatewords",
    "pluralize",
    "yesno",
    "add",
    "cut",
    "linebreaksbr",
    "urlencode",
):
    library.filter(_filter, getattr(defaultfilters, _filter))

register = library  # the engine loads this module as a builtin library


class SandboxEngine(Engine):
    # Engine adds Django's default tags (debug, include, load, url, now...) to any builtins.
    default_builtins: list[str] = []


ENGINE = SandboxEngine(
    builtins=["campaigns.templating"],
    libraries={},
    loaders=[],
    debug=False,
    autoescape=False,  # text bodies (email text part, SMS, push); no HTML is rendered here
    string_if_invalid="",
)

# The shape of the context: a dict maps names to their shapes, a list holds its items' shape,
# None is a plain value (no lookup past it).
PRODUCT = {"name": None, "brand": None, "price": None, "url": None}
LINE = {"name": None, "sku": None, "quantity": None, "price": None}
SCHEMA: dict = {
    "first_name": None,
    "last_name": None,
    "store": {"name": None, "city": None, "address": None, "postal_code": None},
    "cart_lines": [LINE],
    "recommended_products": [PRODUCT],
    "promoted_product": PRODUCT,
    "discount_code": None,
    "discount_percent": None,
    "discount_valid_until": None,
    "unsubscribe_url": None,
    # Automations (campaigns/automations/selectors.py): the survey after a collection or a
    # delivery, and the product she wanted that is back in stock.
    "survey_url": None,
    "wanted_product": PRODUCT,
    "open_pixel_url": None,  # for an HTML part: <img src="{{ open_pixel_url }}" alt="">
}
FORLOOP = {
    "counter": None,
    "counter0": None,
    "revcounter": None,
    "revcounter0": None,
    "first": None,
    "last": None,
}


class TemplateRefused(ValidationError):
    """A template that does not parse or reaches a variable outside the allowed shape."""


def _check_path(variable: Variable, scope: dict) -> None:
    if variable.lookups is None:  # a literal
        return
    shape = scope
    for depth, bit in enumerate(variable.lookups):
        if isinstance(shape, list) and bit.isdigit():
            shape = shape[0]
        elif isinstance(shape, dict) and bit in shape:
            shape = shape[bit]
        else:
            path = ".".join(variable.lookups[: depth + 1])
            raise TemplateRefused(
                _("%(variable)s is not a variable messages may use") % {"variable": path},
                code="forbidden_variable",
            )


def _shape_of(expression: FilterExpression, scope: dict):
    variable = expression.var
    if not isinstance(variable, Variable) or variable.lookups is None or expression.filters:
        return None
    shape = scope
    for bit in variable.lookups:
        shape = shape[0] if isinstance(shape, list) else shape.get(bit)
    return shape


def _check_expression(expression: FilterExpression, scope: dict) -> None:
    if isinstance(expression.var, Variable):
        _check_path(expression.var, scope)
    for _function, arguments in expression.filters:
        for is_lookup, argument in arguments:
            if is_lookup:
                _check_path(argument, scope)


def _check_condition(condition, scope: dict) -> None:
    if condition is None:
        return
    if isinstance(condition, TemplateLiteral):
        _check_expression(condition.value, scope)
        return
    _check_condition(getattr(condition, "first", None), scope)
    _check_condition(getattr(condition, "second", None), scope)


def _check_nodes(nodes, scope: dict) -> None:
    for node in nodes:
        _check_node(node, scope)


def _check_node(node: Node, scope: dict) -> None:
    if isinstance(node, ForNode):
        _check_expression(node.sequence, scope)
        shape = _shape_of(node.sequence, scope)
        item = shape[0] if isinstance(shape, list) else None
        inner = {**scope, "forloop": FORLOOP}
        for name in node.loopvars:
            inner[name] = item
        _check_nodes(node.nodelist_loop, inner)
        _check_nodes(node.nodelist_empty, scope)
        return
    if isinstance(node, IfNode):
        for condition, nodelist in node.conditions_nodelists:
            _check_condition(condition, scope)
            _check_nodes(nodelist, scope)
        return
    if isinstance(node, WithNode):
        inner = dict(scope)
        for name, expression in node.extra_context.items():
            _check_expression(expression, scope)
            inner[name] = _shape_of(expression, scope)
        _check_nodes(node.nodelist, inner)
        return
    for value in vars(node).values():
        if isinstance(value, FilterExpression):
            _check_expression(value, scope)
        elif isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, FilterExpression):
                    _check_expression(item, scope)
    for attribute in node.child_nodelists:
        _check_nodes(getattr(node, attribute, None) or [], scope)


def check_template(source: str) -> None:
    """Raise TemplateRefused if `source` does not parse or uses a variable outside SCHEMA."""
    try:
        template = ENGINE.from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateRefused(
            _("template error: %(error)s") % {"error": exc}, code="template_syntax"
        ) from None
    _check_nodes(template.nodelist, SCHEMA)


def render(source: str, context: dict) -> str:
    """Render a checked template with a context of plain values only, as plain text.

    Django's engine marks what it renders as safe HTML; this text is not (autoescape is off and
    a customer's name may hold markup), so it comes back as a plain `str` that any page showing
    it escapes, and the e-mail's HTML part escapes too (omni/messaging/html.py)."""
    rendered = ENGINE.from_string(source).render(Context(context, autoescape=False))
    return str.__str__(rendered)  # a plain copy, without the SafeString mark
