"""The staff portal: log-in, queues, the ticket page and its actions, search, account."""
from portal.staff import (account_views, bulk_views, canned_views, login_views, queue_views, report_views,  # noqa: F401
                          ticket_views)  # (their routes)
from portal.staff.blueprint import bp

__all__ = ["bp"]
