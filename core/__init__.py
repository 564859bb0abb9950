"""The domain of the helpdesk, free of any web, mail-server or task framework.

Each sub-package owns one part of the domain; find the room for a change by
its name:

    models/     the tables (SQLAlchemy mappings) and their enums
    storage/    engines and sessions, the schema, the file store, the fast write path
    config/     process settings (environment) and the rules admins change at run time
    access/     who may see what, customer tokens, staff passwords and log-in, rate limits
    directory/  offices and schools, the directory import, staff accounts
    tickets/    the ticket and what happens to it: intake, lifecycle, routing,
                assignment, SLA, the periodic sweep, what staff and requesters do
    mail/       records of mail: the outbox, notices a change causes, our
                Message-IDs, the mail log, the quarantine and mail wording
    content/    what a message holds: HTML sanitised, quotes cut, attachments checked
    queries/    the read side: queues, search, reports, export
    audit.py    the audit trail every package writes to
    demo.py     the starting data of a fresh installation

Imports point down this list and never back up: models and storage know
nothing of tickets; tickets may use mail (to queue notices), content and
access; queries read everything and nothing imports them. core/ imports
nothing of mailin/, mailout/, portal/ or tasks/ (checked by import-linter,
see pyproject.toml).
"""
