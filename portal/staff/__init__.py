"""The staff portal: log-in, queues, the ticket page and its actions, search, account."""
from portal.staff import account_views, login_views, queue_views, report_views, ticket_views  # noqa: F401  (their routes)
from portal.staff.blueprint import bp

__all__ = ["bp"]
