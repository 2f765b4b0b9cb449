"""The 360° customer view: every app's panels and one timeline, for the staff screen and admin.

Apps contribute through the registry (see registry.py); the customers app's own sections are
registered on import of this package.
"""

from customers.customer360 import sections as _sections  # noqa: F401  (registers them)
from customers.customer360.registry import (
    Fact,
    Link,
    Panel,
    Row,
    Section,
    Table,
    TimelineEntry,
    TimelineQuery,
    TimelineSource,
    Viewer,
    register_section,
    register_timeline_source,
)
from customers.customer360.selectors import (
    PAGE_SIZE,
    TimelinePage,
    customer_panels,
    customer_timeline,
    timeline_choices,
)

__all__ = [
    "PAGE_SIZE",
    "Fact",
    "Link",
    "Panel",
    "Row",
    "Section",
    "Table",
    "TimelineEntry",
    "TimelinePage",
    "TimelineQuery",
    "TimelineSource",
    "Viewer",
    "customer_panels",
    "customer_timeline",
    "register_section",
    "register_timeline_source",
    "timeline_choices",
]
