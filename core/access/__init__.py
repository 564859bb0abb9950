"""Who may see and do what: the visibility rule applied in every ticket query
(visibility), secrets handed to customers and HMACs (tokens), staff passwords
and log-in with its lockout (passwords, logins), and actions counted in a
sliding window (ratelimit).

May import: core.models, core.storage, core.config, core.audit."""
