"""The wording of the mail templates: the shipped defaults under templates/mail/,
and the site's own copies in the data dir that override them."""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, TemplateSyntaxError
from sqlalchemy.orm import Session

from core import audit
from core.config.settings import Settings
from core.models import User

DEFAULT_TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "mail"
TEMPLATE_SUFFIXES = (".txt", ".html")


class NotFound(LookupError):
    pass


class BadTemplate(ValueError):
    pass


def template_files(settings: Settings) -> list[str]:
    """Every mail template file, as a path under mail/ ("staff_reply/body.txt"), shipped or the site's."""
    found = set()
    for root in (DEFAULT_TEMPLATES, settings.path("templates", "mail")):
        if root.is_dir():
            found.update(p.relative_to(root).as_posix() for p in root.rglob("*")
                         if p.is_file() and p.suffix in TEMPLATE_SUFFIXES)
    return sorted(found)


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


def save_template(session: Session, settings: Settings, actor: User, name: str, text: str) -> None:
    """Keep the site's wording; a template that does not parse is refused, not saved."""
    target = settings.path("templates", "mail", _checked(settings, name))
    try:
        Environment(autoescape=name.endswith(".html")).parse(text)
    except TemplateSyntaxError as exc:
        raise BadTemplate(f"line {exc.lineno}: {exc.message}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text.replace("\r\n", "\n"), "utf-8")
    tmp.replace(target)
    audit.record(session, None, "mail_template", actor, to_value=name)


def restore_template(session: Session, settings: Settings, actor: User, name: str) -> None:
    """Drop the site's copy so the shipped default applies again."""
    settings.path("templates", "mail", _checked(settings, name)).unlink(missing_ok=True)
    audit.record(session, None, "mail_template", actor, to_value=f"{name} (default)")
