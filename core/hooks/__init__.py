"""Outgoing HTTP notices: webhooks admins register, and chat notices (Slack,
Microsoft Teams, WhatsApp). Deliveries are queued here, in the transaction of
the change; mailout.hooks sends them."""
