"""Records of mail: the outbox (outbox), the notices a change causes (notices),
our Message-IDs (msgids), the log of raw mail received (log), mail that needs
an admin (quarantine), the wording of mail templates (templates) and the
senders admins ban or allow (senders). Rendering and sending live in
mailout/; receiving in mailin/.

May import: core.models, core.storage, core.config, core.access, core.audit, and
core.hooks (a change's chat and WhatsApp notices are queued beside its mail)."""
