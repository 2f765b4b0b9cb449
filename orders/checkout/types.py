"""The choices a checkout is made of, and what the pickup options read returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from inventory.models import Location


@dataclass(frozen=True)
class ShippingAddress:
    name: str
    line1: str
    postal_code: str
    city: str
    country: str = "FR"
    line2: str = ""
    phone: str = ""


@dataclass(frozen=True)
class DeliveryChoice:
    """Home delivery: the allocation strategy picks the warehouses and ship-from-store stores."""

    address: ShippingAddress | None = None
    shipping_total: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class PickupChoice:
    """Click-and-collect at `store`."""

    store: Location


@dataclass(frozen=True)
class StoreSaleChoice:
    """Sold at the till of `store`: the goods leave with her now."""

    store: Location


FulfilmentChoice = DeliveryChoice | PickupChoice | StoreSaleChoice


@dataclass(frozen=True)
class PaymentInfo:
    """A payment the site or the till reports; Omni records it, never processes it."""

    provider: str
    reference: str
    status: str  # PaymentStatus.AUTHORISED or CAPTURED
    amount: Decimal


@dataclass(frozen=True)
class PickupOption:
    """A store that can hand the whole cart over, and when."""

    location_id: int
    code: str
    name: str
    city: str
    ready_at: datetime
    ready_today: bool
    needs_transfer: bool  # some lines come from a warehouse first
    distance_km: float | None = None
