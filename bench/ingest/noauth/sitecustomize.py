"""Bench only: the pipeline without sender authentication, as it was before
the checks, so run.py --auth-compare measures what they cost. On PYTHONPATH
it is imported at the start of every process, the spawned server processes
included; it is never on the product's path."""
import os

if os.environ.get("HELPDESK_BENCH_NO_AUTH") == "1":
    import mailin.pipeline
    from core.mail.auth import unchecked

    mailin.pipeline.authenticate = lambda settings, raw, mail, envelope_from, client: unchecked(mail.from_address)
