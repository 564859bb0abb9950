"""Where data lives: engines and sessions (db), the schema and its migrations
(schema), the content-addressed file store for raw mail and attachments
(files), the spool that holds a received message's bytes in the database
until they are moved into that store (spool), the fast write path of the
mail ingest (fast), answers one process may reuse for a few seconds
(recent), and the retry rule of queued deliveries, mail and webhooks alike
(retries).

May import: core.config, core.models. Nothing else of ours."""
