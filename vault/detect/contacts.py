"""Contacts: e-mail addresses however written, @handles, messaging ids and profile links.

* E-mail: ``name@host.com``, and the forms written to slip past filters —
  ``name (at) host [dot] com``, ``name at host dot com``, ``name[at]host.com``,
  ``name @ host . com``, ``arroba``/``a còng``/``zavináč``/``chấm``/``punto`` … . With
  a bare word for "@" (``at``), the address must end in a known top-level domain or
  be a known webmail host, so "at work. Then" stays.
* ``@handle`` anywhere that is not part of an address.
* After a messaging or social keyword (Zalo, LINE, WeChat/微信, WhatsApp, FB, IG, QQ …):
  the id that follows — one with digits, dots or underscores, a phone number, or,
  after an explicit ``:``/``ID``/``号``, any name. ``LINE``, ``WA`` and ``IG`` count as
  keywords only in capitals (``line 3`` is a production line).
* Web addresses with a path, and profile links even without ``https://``.
"""

from __future__ import annotations

import re
from typing import Final

from vault.detect.keywords import TOP_LEVEL_DOMAINS, WEBMAIL_HOSTS
from vault.detect.prepared import Prepared
from vault.detect.scan import Hit, Hits

__all__ = ["find_contacts"]

_LABEL: Final = r"[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?"
_DOT_WORDS: Final = r"dot|punto|point|tečka|tecka|chấm|cham|titik|ดอท|点|точка"
_DOT_STRONG: Final = rf"\s*[(\[{{<]\s*(?:{_DOT_WORDS}|\.)\s*[)\]}}>]\s*"
_DOT_WORD: Final = rf"\s+(?:{_DOT_WORDS})\s+|\s*点\s*"
_SPELLED_DOT: Final = re.compile(_DOT_WORD)
_TLDS: Final = frozenset(TOP_LEVEL_DOMAINS)
_WEBMAIL: Final = frozenset(WEBMAIL_HOSTS)
# After the "@": labels joined by dots however written.
_DOMAIN: Final = re.compile(rf"{_LABEL}(?:(?:{_DOT_STRONG}|{_DOT_WORD}|\.|\s+\.\s+){_LABEL})*")
_DOTS: Final = re.compile(rf"{_DOT_STRONG}|{_DOT_WORD}|\s*\.\s*")
_DOMAIN_STRICT: Final = re.compile(rf"{_LABEL}(?:(?:{_DOT_STRONG}|{_DOT_WORD}|\.){_LABEL})*")
# Before the "@": the local part, itself possibly dotted in words ("nguyen dot huong").
_LOCAL_CHARS: Final = frozenset("._+'-")
_DOT_BEFORE: Final = re.compile(rf"(?:{_DOT_STRONG}|{_DOT_WORD})$")
_BRACKET_OPEN: Final = re.compile(r"[(\[{<]\s*$")
_BRACKET_CLOSE: Final = re.compile(r"\s*[)\]}>]")
_HANDLE: Final = re.compile(r"[a-z0-9_](?:[a-z0-9_.]{0,28}[a-z0-9_])?")
_URL: Final = re.compile(r"[^\s<>\"'()\[\]{}，。、「」]+")
_URL_TRAIL: Final = ".,;:!?'\"”’…"

_MSG_STRONG: Final = re.compile(
    r"(?:\s*(?:[:：=]|id|name|username|user|account|acc|nick|nickname|号|账号|帳號|ไอดี|akun"
    r"|tên|tài khoản|tai khoan))+\s*"
)
_MSG_WEAK: Final = re.compile(
    r"(?:\s*(?:-|is|là|la|es|est|je|adalah|คือ|ชื่อ|của tôi|của em|my|her|his|saya|mi|mon))*\s*"
)
_MSG_TOKEN: Final = re.compile(r"@?[a-z0-9][\w.\-]{1,40}")
_MSG_PHONE: Final = re.compile(r"\+?\d[\d .\-]{4,18}\d")
_CAPITALISED: Final = re.compile(r"[^\W\d_][\w'’-]*(?:[ ]+[^\W\d_][\w'’-]*){0,3}")
_UNSPACED: Final = re.compile(r"[\u0e01-\u0e4e\u4e00-\u9fff]{1,16}")
_CAPITALS_ONLY: Final = frozenset({"line", "wa", "ig"})
_PHONE_APPS: Final = frozenset({"zalo", "whatsapp", "wa", "viber", "signal", "telegram", "line"})


def _local_start(low: str, left: int) -> int:
    """Where the local part ending at ``left`` starts, walking back over its
    characters and over dots written out ("nguyen dot huong")."""
    start = left
    while True:
        i = start
        while i > 0 and (low[i - 1].isalnum() or low[i - 1] in _LOCAL_CHARS):
            i -= 1
        if i == start:
            return start
        start = i
        dot = _DOT_BEFORE.search(low, max(0, start - 12), start)
        if dot is None or dot.start() == 0 or not low[dot.start() - 1].isalnum():
            return start
        start = dot.start()


def _emails(p: Prepared, hits: list[Hit], out: list[Hit]) -> None:
    low = p.low
    for at_start, at_end, word in hits:
        strong = word == "@"
        left, right = at_start, at_end
        opened = _BRACKET_OPEN.search(low, max(0, at_start - 3), at_start)
        if opened:
            closed = _BRACKET_CLOSE.match(low, at_end)
            if closed is None:
                continue
            left, right, strong = opened.start(), closed.end(), True
        if strong:
            # "name@host", "name @ host", "name (at) host"
            while left > 0 and low[left - 1] == " ":
                left -= 1
            while right < len(low) and low[right] == " ":
                right += 1
        else:
            # "name at host": the word needs a space either side.
            if low[left - 1 : left] != " " or low[right : right + 1] != " ":
                continue
            left -= 1
            right += 1
        domain = (_DOMAIN if strong else _DOMAIN_STRICT).match(low, right)
        if domain is None:
            continue
        labels = _DOTS.split(domain.group())
        tld_ok = len(labels) > 1 and labels[-1] in _TLDS
        # "name at host dot example": "at" and "dot" both written out say e-mail.
        spelled = len(labels) > 1 and _SPELLED_DOT.search(domain.group()) is not None
        if not (tld_ok or spelled or labels[0] in _WEBMAIL or (strong and len(labels) > 1)):
            continue
        end = domain.end() if (tld_ok or len(labels) > 1) else domain.start() + len(labels[0])
        start = _local_start(low, left)
        if left - start < 2:
            continue
        out.append((start, end, "EMAIL"))


def _handles(p: Prepared, hits: list[Hit], out: list[Hit]) -> None:
    low = p.low
    for start, end, word in hits:
        before = low[start - 1] if start else " "
        # An "@" right after Latin letters or digits is an address; after Chinese
        # or Thai text it begins a handle.
        if word != "@" or (before.isascii() and before.isalnum()) or before in "._@":
            continue
        m = _HANDLE.match(low, end)
        if m and not m.group().isdigit():
            out.append((start, m.end(), "HANDLE"))


def _messaging(p: Prepared, hits: list[Hit], out: list[Hit]) -> None:
    low, text = p.low, p.text
    for start, end, word in hits:
        if word in _CAPITALS_ONLY and not text[start:end].isupper():
            continue
        if low[end : end + 1] == "." or low[end : end + 1] == "/":
            continue  # facebook.com/…: a link, found as one
        strong = _MSG_STRONG.match(low, end)
        pos = strong.end() if strong and strong.group().strip() else end
        explicit = pos != end
        if not explicit:
            weak = _MSG_WEAK.match(low, end)
            pos = weak.end() if weak else end
        phone = _MSG_PHONE.match(low, pos)
        if phone and sum(c.isdigit() for c in phone.group()) >= 6:
            kind = "PHONE" if word in _PHONE_APPS else "HANDLE"
            out.append((phone.start(), phone.end(), kind))
            continue
        if explicit and text[pos : pos + 1].isupper():
            # "Facebook: Hương Nguyễn": a display name, capitalised words.
            name = _CAPITALISED.match(text, pos)
            if name:
                taken: list[str] = []
                for w in name.group().split():
                    if not w[0].isupper():
                        break
                    taken.append(w)
                out.append((pos, pos + len(" ".join(taken)), "HANDLE"))
                continue
        token = _MSG_TOKEN.match(low, pos)
        if token:
            value = token.group().rstrip(".-")
            if value.isdigit():
                continue  # "ไลน์ 12": a production line, not an account
            marked = value[0] == "@" or any(c.isdigit() or c in "._" for c in value)
            if marked or (explicit and len(value) >= 3):
                out.append((pos, pos + len(value), "HANDLE"))
                continue
        if explicit:
            unspaced = _UNSPACED.match(text, pos)
            if unspaced:
                out.append((pos, unspaced.end(), "HANDLE"))


def _urls(p: Prepared, hits: list[Hit], out: list[Hit]) -> None:
    low = p.low
    covered = 0  # a keyword inside a link already found is part of it, not a new one
    for start, end, word in hits:
        if start < covered:
            continue
        m = _URL.match(low, end)
        rest = m.group() if m else ""
        value = word + rest
        if word.startswith(("http", "www.")):
            # Any page of a site; not the bare site, which names no one.
            path = value.split("//", 1)[-1]
            if "/" not in path.rstrip(_URL_TRAIL + "/"):
                continue  # a bare site, no page of one person
        stop = start + len(value.rstrip(_URL_TRAIL))
        if stop - start > len(word):
            out.append((start, stop, "URL"))
            covered = stop


def find_contacts(p: Prepared, hits: Hits, out: list[Hit]) -> None:
    """E-mail addresses, handles, messaging ids and links (see the module docstring)."""
    at = hits.get("at")
    if at:
        _emails(p, at, out)
        _handles(p, at, out)
    if "msg" in hits:
        _messaging(p, hits["msg"], out)
    if "url" in hits:
        _urls(p, hits["url"], out)
    _user_names(p, out)


# A user name by its shape alone, wherever it stands: words joined by a dot or an
# underscore ("tiger.rain88", "kitty_1143"), or letters run into digits
# ("luckykitty446"). Three letters at least before the digits, so "mp3", "4g" and
# "A4" stay; prose never joins words with a dot or an underscore without a space.
_USER_NAME: Final = re.compile(
    r"(?<![a-z0-9_@.\-/])"
    r"(?:[a-z]{2,}[a-z0-9]*(?:[._][a-z0-9]+)+|[a-z]{3,}\d{2,}|[a-z]+_\d+)"
    r"(?![a-z0-9_@/]|\.[a-z0-9])"
)


def _user_names(p: Prepared, out: list[Hit]) -> None:
    low = p.low
    if "_" not in low and not _LETTERS_DIGITS.search(low) and not _DOTTED.search(low):
        return
    for m in _USER_NAME.finditer(low):
        word = m.group()
        # "e.g", "a.m", a version "v1.2": not a name.
        if (
            "." in word
            and not any(c.isdigit() for c in word)
            and min(map(len, word.split("."))) < 3
        ):
            continue
        # A bare site (www.company.com) names a workplace, not a person.
        if "." in word and word.rsplit(".", 1)[-1] in _TLDS and not any(c.isdigit() for c in word):
            continue
        out.append((m.start(), m.end(), "HANDLE"))


_LETTERS_DIGITS: Final = re.compile(r"[a-z]{3}\d{2}")
_DOTTED: Final = re.compile(r"[a-z]{2}[.][a-z]")
