"""The ticket and everything that happens to it: opening and adding messages
(intake), what an inbound mail does (arrival), the state machine (lifecycle),
the tier chain (routing), fair assignment (assignment), service levels and
working hours (sla, hours), the periodic sweep (sweep), references (refs),
categories and priorities (categories, catalog), canned answers (canned),
what staff do (actions), what the requester does and reads on the web
(requester, private_link).

May import: every core package below it (models, storage, config, access,
directory, mail, content, audit); never core.queries."""

# Every change to a ticket is audited, and webhooks hear of it through the
# audit trail's listener: importing any ticket service registers it.
import core.hooks  # noqa: E402,F401
