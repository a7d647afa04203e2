"""The vault's own words in the user's language: English, French and Spanish.

Catalogues are gettext files in ``vault/locales/<lang>/LC_MESSAGES/evault.mo``, made
with Babel from ``tests/catalogues.py`` (their source). Only the vault's own words
translate: a report's labels and headings, and what the command line says (its
prompts, result lines, error prefix, and Click's usage and help words). Record
content, names and codes, the library's error details and JSON for machines never do.

The language is the one asked for (``--lang``), else the locale's, read as gettext
reads it: the first of ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` that is
set decides, and a language the vault has no words for is English.
"""

from __future__ import annotations

import functools
import gettext
import os
from collections.abc import Callable
from pathlib import Path
from typing import Final

from vault.errors import UsageError

__all__ = ["DOMAIN", "LANGUAGES", "LOCALES", "Gettext", "chosen", "translations"]

LANGUAGES: Final = ("en", "fr", "es")
LOCALES: Final = Path(__file__).resolve().parent / "locales"
DOMAIN: Final = "evault"
_LOCALE_VARIABLES: Final = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
Gettext = Callable[[str], str]


def chosen(lang: str | None = None) -> str:
    """``lang`` if given (one of :data:`LANGUAGES`), else the locale's language."""
    if lang is not None:
        if lang not in LANGUAGES:
            raise UsageError(f"unknown language; use {', '.join(LANGUAGES)}")
        return lang
    for variable in _LOCALE_VARIABLES:
        value = os.environ.get(variable)
        if not value:
            continue
        for part in value.split(":"):
            # fr_FR.UTF-8@euro -> fr
            code = part.partition(".")[0].partition("@")[0].partition("_")[0].lower()
            if code in LANGUAGES:
                return code
        break
    return "en"


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue of ``lang`` (English: the words as written)."""
    if chosen(lang) == "en":
        return gettext.NullTranslations()
    # A missing catalogue is a broken installation: said, never silently English.
    return gettext.translation(DOMAIN, LOCALES, languages=[lang])
