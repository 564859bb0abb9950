"""What a message holds: HTML sanitised (sanitize, the one user of bleach) and
turned to text (htmltext), quoted history and signatures cut (quotes,
quote_lines), attachments checked (attachments) and previewed (thumbnails).
Mostly pure functions over bytes and text.

May import: core.models, core.storage, core.config."""
