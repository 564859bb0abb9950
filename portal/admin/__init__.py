"""Administration: users, the directory, categories, priorities and SLA, policy,
mail wording, the quarantine and the failed outbox."""
from portal.admin import directory_views, mail_views, settings_views, triage_views, user_views  # noqa: F401  (their routes)
from portal.admin.blueprint import bp

__all__ = ["bp"]
