"""Records of mail: the outbox (outbox), the notices a change causes (notices),
our Message-IDs (msgids), the log of raw mail received (log), mail that needs
an admin (quarantine), the wording of mail templates (templates), the
senders admins ban or allow (senders) and a webhook's health (hook_health:
its disabling is mailed to the admins). Rendering and sending live in
mailout/; receiving in mailin/.

May import: core.models, core.storage, core.config, core.access, core.audit, and
core.hooks (a change's chat and WhatsApp notices are queued beside its mail)."""
