"""The customer's forms. Messages are English; the templates translate them."""
from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from core.content.uploads import Upload
from core.words import N_

# Deliberately loose: the acknowledgement mail is the real test of an address.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_FILES = 10


def _at_most_files(_form, field) -> None:
    if len([f for f in field.data or [] if f and f.filename]) > MAX_FILES:
        raise ValidationError(N_("At most 10 files at once."))


class TicketForm(FlaskForm):
    name = StringField(N_("Your name"), validators=[DataRequired(N_("Please tell us your name.")), Length(max=200)])
    email = StringField(N_("Your email address"), validators=[
        DataRequired(N_("Please give the address where we should answer.")), Length(max=254),
        Regexp(EMAIL, message=N_("This does not look like an email address."))])
    school = StringField(N_("School (optional)"), validators=[Optional(), Length(max=254)])
    category = SelectField(N_("Topic"), coerce=int, validators=[Optional()])
    # Offered only where the policy allows it (Policy.web_priority_choice).
    priority = SelectField(N_("Priority"), coerce=int, validators=[Optional()])
    subject = StringField(N_("Subject"), validators=[
        DataRequired(N_("Please write a short subject.")), Length(max=200)])
    body = TextAreaField(N_("Your question or problem"), validators=[
        DataRequired(N_("Please describe your question or problem.")), Length(max=20000)])
    attachments = MultipleFileField(N_("Attachments (optional)"), validators=[_at_most_files])
    # Shown only when WhatsApp is configured (HELPDESK_WHATSAPP_*); core reads the number.
    phone = StringField(N_("Phone number for WhatsApp (optional)"), validators=[Optional(), Length(max=30)])
    whatsapp = BooleanField(
        N_("Send me WhatsApp messages about this ticket at this number (the acknowledgement and our replies)."))
    # The honeypot: hidden from people by CSS, irresistible to form-filling robots.
    website = StringField(N_("Leave this field empty"))
    stamp = HiddenField()


class ReplyForm(FlaskForm):
    body = TextAreaField(N_("Your reply"), validators=[
        DataRequired(N_("Please write your reply.")), Length(max=20000)])
    attachments = MultipleFileField(N_("Attachments (optional)"), validators=[_at_most_files])


def uploads_of(field) -> list[Upload]:
    return [Upload(filename=f.filename, content=f.read()) for f in field.data or [] if f and f.filename]


def has_files(field) -> bool:
    return any(f and f.filename for f in field.data or [])
