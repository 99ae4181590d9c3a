"""HTML for e-mails: text to HTML, HTML to a plain-text alternative, and link rewriting.

Pure functions on strings (html.parser from the standard library; no I/O), shared by the
EMAIL connector (replies written as text) and campaign rendering (HTML written by admins).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from html.parser import HTMLParser

_BLOCKS = frozenset(
    {"p", "div", "br", "tr", "table", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
     "blockquote", "pre", "hr", "section", "article", "header", "footer"}
)  # fmt: skip
_SKIPPED = frozenset({"style", "script", "head", "title"})
_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def text_to_html(text: str) -> str:
    """An agent's plain reply as a minimal HTML part: escaped, line breaks kept."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    body = "\n".join(
        "<p>" + html.escape(p).replace("\n", "<br>\n") + "</p>" for p in paragraphs if p
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        f'<body style="font-family:sans-serif">\n{body}\n</body></html>'
    )


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._href: str | None = None
        self._link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skip += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
            if tag == "li":
                self.parts.append("- ")
        elif tag == "a":
            self._href = dict(attrs).get("href")
            self._link_text = []
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(alt)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag == "a" and self._href is not None:
            text = "".join(self._link_text).strip()
            href = self._href
            self._href = None
            # "text (url)" so the plain part still leads where the HTML does.
            if href and href.startswith(("http://", "https://")) and href != text:
                self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        data = re.sub(r"\s+", " ", data)
        self.parts.append(data)
        if self._href is not None:
            self._link_text.append(data)


def html_to_text(markup: str) -> str:
    """The plain-text alternative of an HTML body: blocks become lines, links keep their URL."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def rewrite_links(markup: str, rewrite: Callable[[str], str | None]) -> str:
    """Replace the href of every `<a>` whose `rewrite(url)` is not None (url unescaped; the
    new one is escaped back). Used to route campaign links through click tracking."""

    def replace(match: re.Match[str]) -> str:
        prefix, quote, raw = match.group(1), match.group(2), match.group(3)
        new = rewrite(html.unescape(raw).strip())
        if new is None:
            return match.group(0)
        return f"{prefix}{quote}{html.escape(new, quote=True)}{quote}"

    return _HREF.sub(replace, markup)


def links_in(markup: str) -> list[str]:
    """The http(s) link targets of an HTML body, unescaped, in order, each once."""
    found: dict[str, None] = {}
    for match in _HREF.finditer(markup):
        url = html.unescape(match.group(3)).strip()
        if url.lower().startswith(("http://", "https://")):
            found[url] = None
    return list(found)


def append_before_body_end(markup: str, snippet: str) -> str:
    """Insert `snippet` just before `</body>` (or at the end when there is none)."""
    index = markup.lower().rfind("</body>")
    if index == -1:
        return markup + snippet
    return markup[:index] + snippet + markup[index:]
