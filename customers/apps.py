from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        # The consent state table is one row per customer and channel: merged by rule, not moved.
        from customers.erasure import register_erase_hook
        from customers.merge import register_merge_hook
        from customers.navigation import SCREENS
        from customers.services import (
            erase_contact_notes,
            erase_devices,
            erase_survey_comments,
            merge_consent_states,
            merge_loyalty_accounts,
            on_push_tokens_rejected,
        )
        from omni.messaging import push_tokens_rejected
        from omni.navigation import register_screens

        register_merge_hook(merge_consent_states)
        # One loyalty account per customer: two are combined, not both kept. Contacts and
        # survey answers move generically; their free text is personal data, blanked on erasure
        # (the loyalty ledger is accounting and stays).
        register_merge_hook(merge_loyalty_accounts)
        register_erase_hook(erase_contact_notes)
        register_erase_hook(erase_survey_comments)
        # A push token identifies her phone: erased with her. Devices move on a merge like any
        # row (the token is unique on its own, not per customer).
        register_erase_hook(erase_devices)
        # The push backends report tokens the provider refused; the register stops using them.
        push_tokens_rejected.connect(on_push_tokens_rejected, dispatch_uid="customers.devices")
        register_screens(self.label, SCREENS)  # its screens on the staff area pages
