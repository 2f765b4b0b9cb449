"""Segments: create and change them, rules validated first."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from campaigns.models import Segment
from campaigns.segments import validate_rules


def segment_create(
    *,
    name: str,
    rules: object,
    description: str = "",
    created_by: User | None = None,
) -> Segment:
    """Store a segment whose rules are valid.

    Raises:
        SegmentRuleError: a rule names an unknown field, a bad operator or a wrong value.
    """
    validate_rules(rules)
    with transaction.atomic():
        return Segment.objects.create(
            name=name, rules=rules, description=description, created_by=created_by
        )


def segment_update(*, segment: Segment, rules: object, description: str | None = None) -> Segment:
    """Replace a segment's rules (and description) once they validate.

    Raises:
        SegmentRuleError: the new rules do not compile; the segment is unchanged.
    """
    validate_rules(rules)
    with transaction.atomic():
        segment.rules = rules
        fields = ["rules", "updated_at"]
        if description is not None:
            segment.description = description
            fields.append("description")
        segment.save(update_fields=fields)
    return segment
