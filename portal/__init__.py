"""The web portal: the public pages, the staff pages and the admin pages."""
from portal.app import create_app

__all__ = ["create_app"]
