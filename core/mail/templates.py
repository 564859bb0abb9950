"""The wording of the mail templates: the shipped defaults under templates/mail/,
and the site's own copies in the data dir that override them.

Every mail template runs in Jinja's immutable sandbox: an admin's wording
reaches the ticket objects in its context, and outside the sandbox a
template can walk from any object to `os` and run commands. A copy that
breaks the sandbox is refused when saved; one placed in the data dir by
other means is listed as broken on the admin page, and mail falls back to
the shipped wording (mailout.render)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import BaseLoader, ChoiceLoader, DictLoader, FileSystemLoader, TemplateSyntaxError, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from sqlalchemy.orm import Session

from core import audit
from core.config.settings import Settings
from core.models import Ticket, User
from core.words import N_

DEFAULT_TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "mail"
TEMPLATE_SUFFIXES = (".txt", ".html")
# What a template is tried with before it is kept: every name a shipped
# template uses, and a ticket object like the one a real mail carries.
SAMPLE_CONTEXT = {
    "ref": "JKT-0000001", "subject": "Dapodik tidak bisa login", "name": "SMAN 1", "requester": "sman1@sekolah.test",
    "link": "https://helpdesk.example/t/sample", "staff_link": "https://helpdesk.example/staff/tickets/JKT-0000001",
    "helpdesk": "helpdesk@helpdesk.example", "base_url": "https://helpdesk.example", "language": "id",
    "office": "Kota Contoh", "office_from": "Kota Contoh", "office_to": "Provinsi Contoh", "staff_name": "Staf",
    "reason": "alasan", "priority": "high", "due": "2025-01-01 09:00", "clock": "first response", "text": "teks",
    "note": "catatan", "excerpt": "kutipan", "days": 7, "assigned_by": "Supervisor", "reopened": True,
    "refused": [["arsip.zip", "the archive holds a program: setup.exe"]], "message_id": None,
    "url": "https://hooks.example/helpdesk", "since": "2025-01-01 09:00 UTC",
    "count": 12, "queue_link": "https://helpdesk.example/staff/?queue=unassigned",
}


class NotFound(LookupError):
    pass


class BadTemplate(ValueError):
    pass


@dataclass(frozen=True)
class Broken:
    """A site copy that cannot be used, and why: mail uses the shipped wording."""

    name: str
    error: str


def sandbox(loader: BaseLoader, **options) -> ImmutableSandboxedEnvironment:
    """The Jinja environment every mail template renders in: sandboxed, HTML autoescaped."""
    return ImmutableSandboxedEnvironment(loader=loader, autoescape=select_autoescape(["html"], default=False),
                                         trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                                         **options)


def template_files(settings: Settings) -> list[str]:
    """Every mail template file, as a path under mail/ ("staff_reply/body.txt"), shipped or the site's."""
    found = set()
    for root in (DEFAULT_TEMPLATES, settings.path("templates", "mail")):
        found.update(_files_under(root))
    return sorted(found)


def _files_under(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.suffix in TEMPLATE_SUFFIXES]


def _checked(settings: Settings, name: str) -> str:
    # Only names of existing templates: a path from a form can never leave the folder.
    if name not in template_files(settings):
        raise NotFound(name)
    return name


def read_template(settings: Settings, name: str) -> tuple[str, bool]:
    """The wording in use and whether it is the site's own copy (else the default)."""
    own = settings.path("templates", "mail", _checked(settings, name))
    if own.exists():
        return own.read_text("utf-8"), True
    default = DEFAULT_TEMPLATES / name
    return (default.read_text("utf-8") if default.exists() else ""), False


def check_template(settings: Settings, name: str, text: str) -> None:
    """Parse the wording and render it in the sandbox with a sample context, so
    what fails (a syntax error, a missing include, a forbidden attribute) is
    found by the admin who wrote it, not by a customer's mail."""
    site = FileSystemLoader(str(settings.path("templates", "mail")))
    env = sandbox(ChoiceLoader([DictLoader({name: text}), site, FileSystemLoader(str(DEFAULT_TEMPLATES))]))
    try:
        env.get_template(name).render(sample_context())
    except TemplateSyntaxError as exc:
        raise BadTemplate(N_("line %(line)s: %(error)s") % {"line": exc.lineno, "error": exc.message}) from None
    except SecurityError as exc:
        raise BadTemplate(N_("not allowed in a mail template: %(error)s") % {"error": exc}) from None
    except Exception as exc:  # any other failure would fail the customer's mail the same way
        raise BadTemplate(f"{type(exc).__name__}: {exc}") from None


def sample_context() -> dict:
    ticket = Ticket(ref=SAMPLE_CONTEXT["ref"], subject=SAMPLE_CONTEXT["subject"],
                    requester_email=SAMPLE_CONTEXT["requester"])
    return {**SAMPLE_CONTEXT, "ticket": ticket}


def broken_templates(settings: Settings) -> list[Broken]:
    """The site's copies that fail the save-time check (placed by hand, or
    saved before the check existed): mail falls back to the shipped wording."""
    root = settings.path("templates", "mail")
    broken = []
    for name in sorted(_files_under(root)):
        try:
            check_template(settings, name, (root / name).read_text("utf-8"))
        except (BadTemplate, UnicodeDecodeError) as exc:
            broken.append(Broken(name, str(exc)))
    return broken


def save_template(session: Session, settings: Settings, actor: User, name: str, text: str) -> None:
    """Keep the site's wording; a template that does not parse or render in the sandbox is refused, not saved."""
    target = settings.path("templates", "mail", _checked(settings, name))
    text = text.replace("\r\n", "\n")
    check_template(settings, name, text)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, "utf-8")
    tmp.replace(target)
    audit.record(session, None, "mail_template", actor, to_value=name)


def restore_template(session: Session, settings: Settings, actor: User, name: str) -> None:
    """Drop the site's copy so the shipped default applies again."""
    settings.path("templates", "mail", _checked(settings, name)).unlink(missing_ok=True)
    audit.record(session, None, "mail_template", actor, to_value=f"{name} (default)")
