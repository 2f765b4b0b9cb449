"""What the sandbox renders is text, never trusted HTML: a page showing it escapes it."""

from __future__ import annotations

from django.template import Context, Template
from django.utils.safestring import SafeData

from campaigns.templating import render


def test_rendered_text_is_not_marked_safe_and_a_page_escapes_it():
    text = render("Bonjour {{ first_name }}", {"first_name": "<script>x()</script>"})

    assert text == "Bonjour <script>x()</script>"
    assert not isinstance(text, SafeData)
    page = Template("{{ body }}").render(Context({"body": text}))
    assert page == "Bonjour &lt;script&gt;x()&lt;/script&gt;"
