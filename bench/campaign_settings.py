"""Settings of bench/campaign.py (its own process, the materialiser and the Celery workers): the
project's, with the per-channel rate limit and quiet hours lifted, so that the dispatch figure
measures the pipeline rather than the configured 200 e-mails a second, and a run at 23:00 or on
a Sunday sends its SMS now instead of waiting for the morning. Both rules are still computed:
materialisation writes each message's `not_before`, and every send looks at the limit.
The channel backends are the null backend, chosen through OMNI_*_BACKEND. Benchmark only."""

from omni.settings import *  # noqa: F403

OMNI_CAMPAIGN_RATE_LIMITS: dict[str, int] = {}
OMNI_CAMPAIGN_QUIET_HOURS = {"FR": {"email": None, "sms": None, "push": None}}
