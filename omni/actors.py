"""Who did it: the staff member a service records on the rows it writes.

Every app's services take `performed_by` (the request's user, a task's None) and record it as
`performed_by`, `created_by`, `placed_by`... A view passes `request.user` as it is, which is an
`AnonymousUser` when nobody is signed in (or a service account's proxy): `acting_user` turns
that into None, the "nobody in particular" the foreign keys allow. The project package imports
no app, so every app can use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

User = TypeVar("User", bound="AbstractBaseUser")


def acting_user(user: User | AnonymousUser | None) -> User | None:
    """`user` if it is a signed-in account, else None (anonymous, or no user at all)."""
    if user is None or not user.is_authenticated:
        return None
    return cast("User", user)
