"""The lines that mail clients put above quoted history, and device taglines.

Each test takes one line (or a few lines joined by a space) and answers
whether a client wrote it. They are vocabulary, not policy: core/content/quotes.py
decides what to cut. Languages follow the senders the helpdesk serves
(Indonesian, Javanese) and the clients seen in real replies.
"""
from __future__ import annotations

import re

# Verbs that end an attribution line: "On <date>, <name> wrote:".
_VERBS = (
    r"wrote|writes|a\s+écrit|écrit|schrieb|schreef|het\s+volgende\s+geschreven|geschreven"
    r"|escribió|escreveu|ha\s+scritto|scrive|napisał\(a\)|napisała|napisał|napisal|napsal"
    r"|написал\(а\)|написала|написал|пишет|kirjoitti|skrev|đã\s+viết|írta|yazdı|a\s+scris"
    r"|menulis|nulis|nyerat|写道|寫道"
)
_VERB_AT_END = re.compile(rf"(?:^|[\s,>)\"'])(?:{_VERBS})\s*[:：]\s*$", re.I)
# English clients (and Zoho) sometimes leave the colon off: "On <date> <name> wrote".
_ON_WROTE_BARE = re.compile(r"^On\s.*\bwrote\s*$")
# "Am <date> schrieb <name> <addr>:" puts the verb before the sender.
_ADDRESS = r"(?:<[^<>]*@[^<>]*>|\([^()]*@[^()]*\)|\S+@\S+)"
_VERB_THEN_ADDRESS = re.compile(rf"(?:^|\s)(?:{_VERBS})\s[^:]{{0,100}}?{_ADDRESS}\s*:\s*$", re.I)
# Thunderbird in German, Dutch and Scandinavian puts the verb before a bare name:
# "Am 25.11.2025 um 15:00 schrieb Max Mustermann:".
_VERB_THEN_NAME = re.compile(r"\s(?:schrieb|schreef|skrev)\s+[^\s:]+(?:\s+[^\s:]+){0,5}\s*:\s*$", re.I)
# "----- On <date> <name> wrote -----" (Zoho, Android clients).
_DASH_FRAMED = re.compile(rf"^-{{2,}}\s*.*?(?:{_VERBS})\s*:?\s*-{{2,}}$", re.I)
# Verbless: "2017-11-24 16:32 GMT+01:00 Name <addr>:", "ср, 30 апр. 2025 г. в 15:19, Name <addr>:".
_TIME = re.compile(r"\d{1,2}[:.]\d{2}")
_BRACKETED_ADDRESS_THEN_COLON = re.compile(r"<[^<>]*@[^<>]*>\s*:\s*$")

# Plain substrings of the verbs above: a cheap test before the patterns run.
_VERB_STEMS = (
    "wrote", "writes", "écrit", "schrieb", "schreef", "geschreven", "escribió", "escreveu", "scritto",
    "scrive", "napisa", "napsal", "написал", "пишет", "kirjoitti", "skrev", "viết", "írta", "yazdı",
    "scris", "menulis", "nulis", "nyerat", "写道", "寫道",
)
_VERB_TAIL = 64  # longer than any verb with its colon, so a tail match is a real one
_ATTRIBUTION_MAX_CHARS = 320
_ATTRIBUTION_MAX_WORDS = 45


# How an attribution's first line begins: a lead word, or a date within two words.
_LEADS = (
    r"on|le|am|op|em|el|il|in\s+data|w\s+dniu|dnia|den|på|vào|ngày|pada|ing|dina|tanggal|kala|nalika"
)
_OPENING = re.compile(rf"^\s*(?:-{{2,}}\s*)?(?:(?:{_LEADS})\b|(?:[^\W\d]+[.,]?\s+){{0,2}}\d)", re.I)


def opens_attribution(line: str) -> bool:
    """Whether a line can be the first of an attribution that wraps onto later lines."""
    return bool(_OPENING.match(line))


def is_attribution(line: str) -> bool:
    """Whether `line` (possibly several lines joined) introduces quoted history."""
    if len(line) > 4 * _ATTRIBUTION_MAX_CHARS:
        return False
    text = " ".join(line.split())
    if not text or len(text) > _ATTRIBUTION_MAX_CHARS or len(text.split()) > _ATTRIBUTION_MAX_WORDS:
        return False
    if _DASH_FRAMED.match(text):
        return True
    dated = any(ch.isdigit() for ch in text)
    lowered = text.lower()
    if any(stem in lowered for stem in _VERB_STEMS):
        # The verb ends the line, so its last characters are enough (and quick).
        if _VERB_AT_END.search(text[-_VERB_TAIL:]):
            return dated or "@" in text
        if _ON_WROTE_BARE.match(text) or _VERB_THEN_ADDRESS.search(text):
            return dated
        if _VERB_THEN_NAME.search(text):
            return dated and opens_attribution(text)
    return bool(_TIME.search(text) and _BRACKETED_ADDRESS_THEN_COLON.search(text) and opens_attribution(text))


# Separator lines: "-----Original Message-----", "-------- Message d'origine --------".
_ORIGINAL = (
    r"original\s+message|original-nachricht|ursprüngliche\s+nachricht|urspr\.\s+nachricht"
    r"|oprindelig\s+(?:besked|meddelelse)|opprinnelig\s+melding|alkuperäinen\s+viesti"
    r"|message\s+d'origine|message\s+original|mensaje\s+original|mensagem\s+original"
    r"|messaggio\s+originale|oorspronkelijk\s+bericht|origineel\s+bericht"
    r"|ursprungligt\s+meddelande|wiadomość\s+oryginalna|oryginalna\s+wiadomość"
    r"|исходное\s+сообщение|pesan\s+asli(?:nya)?|pesen\s+asli|reply\s+message"
)
_SEPARATOR = re.compile(rf"^[\s>]*[-_=*]{{2,}}\s*(?:{_ORIGINAL})\s*[-_=*]{{2,}}\s*$", re.I)


# A helpdesk's own notifications may mark where the reply ends: "## Reply above this line ##".
_REPLY_ABOVE = re.compile(
    r"\b(?:reply|respond|write|type)\b.{0,40}\babove\s+this\s+line\b"
    r"|\bbalas\w*\b.{0,40}\bdi\s+atas\s+baris\s+ini\b",
    re.I,
)


def is_separator(line: str) -> bool:
    """An "original message" rule, or a "reply above this line" mark."""
    return len(line) < 200 and bool(_SEPARATOR.match(line) or _REPLY_ABOVE.search(line))


_FORWARDED = (
    r"forwarded\s+message|weitergeleitete\s+nachricht|message\s+transféré|mensaje\s+reenviado"
    r"|mensagem\s+encaminhada|messaggio\s+inoltrato|doorgestuurd\s+bericht|videresendt\s+(?:melding|besked)"
    r"|vidarebefordrat\s+meddelande|välitetty\s+viesti|przekazana\s+wiadomość|пересылаемое\s+сообщение"
    r"|pesan\s+(?:yang\s+)?(?:diteruskan|terusan)"
)
_FORWARD = re.compile(
    rf"^\s*(?:[-_=*]{{2,}}\s*(?:{_FORWARDED})\s*[-_=*]{{2,}}|begin\s+forwarded\s+message\s*:)\s*$", re.I
)


def is_forward(line: str) -> bool:
    """Whether the line opens a forwarded message, which the sender means to be read."""
    return bool(_FORWARD.match(line))


# Header blocks that Outlook and webmail put above a quoted message, by field kind.
_FIELDS = {
    "from": "from von de van da fra från od от lähettäjä dari feladó від mittente remitente"
    " expéditeur absender afzender 发件人 寄件者 saking",
    "date": "sent date gesendet datum envoyé envoye verzonden verstuurd inviato data sendt dato"
    " skickat wysłano wysłane отправлено дата lähetetty päivämäärä päiväys dikirim tanggal"
    " enviado enviada fecha 发送时间 日期 terkirim kakirim",
    "to": "to an à a aan til till do кому vastaanottaja kepada untuk para per 收件人 dhateng",
    "cc": "cc kopie copie kopi kopia копия tembusan",
    "subject": "subject betreff objet oggetto onderwerp emne ämne temat тема aihe perihal subjek"
    " hal assunto asunto sujet judul 主题 主旨",
}
_KIND = {word: kind for kind, words in _FIELDS.items() for word in words.split()}
_KIND.update({"message du": "date", "envoyé le": "date", "gesendet am": "date", "copie à": "cc"})
_FIELD = re.compile(r"^[\s*]*([^\W\d_][^\W\d_ .'’]*(?:\s[^\W\d_]+)?)[\s*]*:[\s*]*(.*)$")


def field_kind(line: str) -> tuple[str, str] | None:
    """('from'|'date'|'to'|'cc'|'subject', value) for a header-like line, else None."""
    match = _FIELD.match(line.replace("\u200e", "").replace("\u00a0", " "))
    if not match:
        return None
    kind = _KIND.get(match.group(1).lower())
    return (kind, match.group(2)) if kind else None


# Device and app taglines: "Sent from my iPhone", "Dikirim dari iPhone saya".
_TAGLINE_VERBS = (
    r"sent\s+(?:from|with|via|using)|get\s+outlook\s+for|envoy[ée]\s+(?:de|depuis|à\s+partir\s+de|avec)"
    r"|gesendet\s+(?:von|mit|vom)|enviado\s+(?:desde|con|do|de)|inviato\s+(?:da|con)"
    r"|verzonden\s+(?:met|vanaf|van)|sendt\s+fra|skickat\s+från|lähetetty|wysłane\s+z|отправлено\s+с"
    r"|dikirim\s+(?:dari|dengan|melalui|saking)|kakirim\s+saking"
)
_TAGLINE = re.compile(
    rf"^(?:{_TAGLINE_VERBS})\s+(?P<rest>[^\s,;:<(]+(?:\s+[^\s,;:<(]+){{0,5}}?)\s*[!.]?"
    r"\s*(?:<[^>]*>|\([^)]*\))?\s*$",
    re.I,
)
_DEVICE = re.compile(
    r"\b(?:my|mon|ma|meinem|meiner|mi|mio|mijn|min|mitt|mojego|моего|saya|kula|i?phone|ipad|android"
    r"|blackberry|samsung|galaxy|outlook|gmail|yahoo|mail|ponsel|mobile|smartphone|tablet|huawei"
    r"|xiaomi|oppo|vivo|redmi|ios|windows|typeapp|sparrow|acompli|aol)\b",
    re.I,
)


def is_tagline(line: str) -> bool:
    """Whether the line is a client's "sent from my device" advert, not prose."""
    match = _TAGLINE.match(line.strip())
    if not match:
        return False
    rest = match.group("rest")
    return bool(_DEVICE.search(rest) or rest[0].isupper())
