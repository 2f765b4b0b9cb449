from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        from campaigns.customer360 import register_customer360
        from campaigns.navigation import SCREENS
        from campaigns.services import campaign_codes
        from omni.navigation import register_screens
        from orders.checkout.discounts import register_discount_provider

        register_customer360()  # panels and timeline entries of the 360° customer view
        # Codes sent with campaigns are redeemed by the one checkout, online and at the till.
        register_discount_provider(campaign_codes)
        register_screens(self.label, SCREENS)  # its screens on the staff area pages
