"""The HTML alternative of a plain-text e-mail: escaped paragraphs, live links, an open pixel.

Senders render their templates as text (campaigns/templating.py renders without autoescape,
for SMS and push too); this turns that text into simple, safe HTML rather than trusting a second
template: every character of the text is escaped, blank lines separate paragraphs, single line
breaks become <br>, and http(s) links (campaigns have already made them signed click redirects)
become anchors. The optional pixel is a 1x1 image whose fetch records the open.
"""

from __future__ import annotations

import re

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

LINK = re.compile(r"https?://[^\s<>\"']+")
# Punctuation ending a sentence right after a link belongs to the sentence.
TRAILING = ".,;:!?)]}"
PARAGRAPH_BREAK = re.compile(r"\n(?:[ \t]*\n)+")


def _line(text: str) -> str:
    parts, position = [], 0
    for match in LINK.finditer(text):
        url = match.group(0).rstrip(TRAILING)
        parts.append(escape(text[position : match.start()]))
        parts.append(format_html('<a href="{}">{}</a>', url, url))
        position = match.start() + len(url)
    parts.append(escape(text[position:]))
    return "".join(parts)


def _paragraph(text: str) -> str:
    lines = [_line(line) for line in text.strip("\n").split("\n")]
    return "<p>" + "<br>\n".join(lines) + "</p>"


def text_to_html(text: str, *, pixel_url: str = "") -> SafeString:
    """A whole HTML document for `text`, with the open pixel `pixel_url` at its end if given."""
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = [p for p in PARAGRAPH_BREAK.split(normalised) if p.strip()]
    body = "\n".join(_paragraph(paragraph) for paragraph in paragraphs)
    if pixel_url:
        body += format_html(
            '\n<img src="{}" alt="" width="1" height="1" style="display:block;border:0">',
            pixel_url,
        )
    # Every piece above was escaped or built by format_html.
    return mark_safe(
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n'
        f"<body>\n{body}\n</body></html>\n"
    )
