from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles(sender, using, **kwargs) -> None:
    from omni.roles import sync_roles

    sync_roles(using=using)


class OmniConfig(AppConfig):
    name = "omni"
    verbose_name = _("Omni")

    def ready(self) -> None:
        # Listed last in INSTALLED_APPS: when this fires every app's permissions exist.
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="omni.sync_roles")
