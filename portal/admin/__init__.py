"""Administration: users, the directory, categories, priorities and SLA, policy,
mail wording, the quarantine and the failed outbox, sender rules, webhooks and chat notices, API tokens."""
from portal.admin import (  # noqa: F401  (their routes)
    contact_views, directory_views, hook_views, mail_views, sender_views, settings_views, token_views, triage_views,
    user_views,
)
from portal.admin.blueprint import bp

__all__ = ["bp"]
