from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        # The consent state table is one row per customer and channel: merged by rule, not moved.
        from customers.merge import register_merge_hook
        from customers.services.merging import merge_consent_states

        register_merge_hook(merge_consent_states)
