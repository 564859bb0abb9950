"""The directory: offices and schools and their import (offices, csvrows),
and staff accounts (staff: creation; accounts: what an admin manages).

May import: core.models, core.storage, core.config, core.access, core.audit."""
