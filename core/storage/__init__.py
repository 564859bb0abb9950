"""Where data lives: engines and sessions (db), the schema and its migrations
(schema), the content-addressed file store for raw mail and attachments
(files), the fast write path of the mail ingest (fast), and answers one
process may reuse for a few seconds (recent).

May import: core.config, core.models. Nothing else of ours."""
