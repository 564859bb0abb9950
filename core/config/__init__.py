"""Settings: the process settings read once from HELPDESK_* environment
variables (settings), and the rules admins change at run time, stored in the
database (policy).

May import: core.models, core.storage, core.audit."""
