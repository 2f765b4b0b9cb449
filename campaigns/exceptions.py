"""Business-rule errors of the campaigns app (see omni/exceptions.py)."""

from django.utils.translation import gettext_lazy as _

from omni.exceptions import DomainError


class CampaignNotEditable(DomainError):
    code = "campaign_not_editable"
    default_detail = _("Only a draft or scheduled campaign can be changed.")


class CampaignNotLaunchable(DomainError):
    code = "campaign_not_launchable"
    default_detail = _("This campaign cannot be launched in its current status.")
