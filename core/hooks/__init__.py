"""Outgoing HTTP notices: webhooks admins register, and chat notices (Slack,
Microsoft Teams, WhatsApp). Deliveries are queued here, in the transaction of
the change; mailout.hooks sends them.

Importing any of it registers core.hooks.events as a listener of the audit
trail (core.audit sits below everything and imports none of this); every
ticket path reaches it through core.mail.notices.

May import: core.models, core.storage, core.config, core.audit; never core.mail
(which imports this package to queue a change's chat notices beside its mail)."""
from core.hooks import events  # noqa: F401  (registers the audit listener)
