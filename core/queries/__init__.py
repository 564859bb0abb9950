"""The read side: the staff queues (queues), search (search), reports
(reports) and the export (export). Every ticket query starts from
core.access.visibility.

May import: any core package; nothing in core imports it."""
