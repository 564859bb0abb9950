"""The customer's forms. Messages are English; the templates translate them."""
from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from core.content.uploads import Upload

# Deliberately loose: the acknowledgement mail is the real test of an address.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_FILES = 10


def _at_most_files(_form, field) -> None:
    if len([f for f in field.data or [] if f and f.filename]) > MAX_FILES:
        raise ValidationError("At most 10 files at once.")


class TicketForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired("Please tell us your name."), Length(max=200)])
    email = StringField("Your email address", validators=[
        DataRequired("Please give the address where we should answer."), Length(max=254),
        Regexp(EMAIL, message="This does not look like an email address.")])
    school = StringField("School (optional)", validators=[Optional(), Length(max=254)])
    category = SelectField("Topic", coerce=int, validators=[Optional()])
    # Offered only where the policy allows it (Policy.web_priority_choice).
    priority = SelectField("Priority", coerce=int, validators=[Optional()])
    subject = StringField("Subject", validators=[
        DataRequired("Please write a short subject."), Length(max=200)])
    body = TextAreaField("Your question or problem", validators=[
        DataRequired("Please describe your question or problem."), Length(max=20000)])
    attachments = MultipleFileField("Attachments (optional)", validators=[_at_most_files])
    # Shown only when WhatsApp is configured (HELPDESK_WHATSAPP_*); core reads the number.
    phone = StringField("Phone number for WhatsApp (optional)", validators=[Optional(), Length(max=30)])
    whatsapp = BooleanField(
        "Send me WhatsApp messages about this ticket at this number (the acknowledgement and our replies).")
    # The honeypot: hidden from people by CSS, irresistible to form-filling robots.
    website = StringField("Leave this field empty")
    stamp = HiddenField()


class ReplyForm(FlaskForm):
    body = TextAreaField("Your reply", validators=[
        DataRequired("Please write your reply."), Length(max=20000)])
    attachments = MultipleFileField("Attachments (optional)", validators=[_at_most_files])


def uploads_of(field) -> list[Upload]:
    return [Upload(filename=f.filename, content=f.read()) for f in field.data or [] if f and f.filename]


def has_files(field) -> bool:
    return any(f and f.filename for f in field.data or [])
