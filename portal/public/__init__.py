"""The customer's side: the public form for a new ticket and the private page
behind the link in their mail. Customers have no account."""
from portal.public.views import bp

__all__ = ["bp"]
