"""Mount django-helpdesk under its namespace: ingest reverses ticket URLs for its mails."""

from django.urls import include, path

urlpatterns = [path("", include("helpdesk.urls", namespace="helpdesk"))]
