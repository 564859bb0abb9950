"""Inbound mail: the SMTP server, and the pipeline every mail channel feeds.

A channel hands over raw bytes and the envelope, and acts on the result:

    from mailin.pipeline import ingest
    result = ingest(db, raw, envelope_from, envelope_to, channel="imap")
    # result.outcome, result.ticket_ref, result.reason, result.raw_mail_id

`ingest` raises `mailin.inbound.TemporaryFailure` when the message could not
be taken now (the database is down or locked): SMTP answers 451, and an IMAP
poller leaves the message unflagged to fetch it again. Any other return means
the message is recorded and decided, quarantined at worst; `reprocess(db,
raw_mail_id)` takes a quarantined message again.

Steps, one module each: parse.py, screen.py (with dsn.py), threads.py,
clean.py; core.tickets.arrival routes the result into tickets; pipeline.py runs them.
"""
