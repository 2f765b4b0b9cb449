"""The base of every business-rule error raised by a service."""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise


class DomainError(Exception):
    """A broken business rule. The API answers `status_code` with {"code", "detail", **extra}."""

    code = "domain_error"
    status_code = 409
    default_detail: str | Promise = "The operation breaks a business rule."  # or a lazy one

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        self.detail = str(detail or self.default_detail)
        self.extra = extra
        super().__init__(self.detail)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "detail": self.detail, **self.extra}
