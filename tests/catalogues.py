"""Write vault/locales/<lang>/LC_MESSAGES/evault.po and .mo from the words below.

Run after changing a report's words: ``python tests/catalogues.py``
(tests/test_report.py checks that every word of vault/report.py is translated and
that the .mo files are compiled from the .po files).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import write_po

HERE = Path(__file__).resolve().parent.parent / "vault" / "locales"
FIXED = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)  # the files do not change unless the words do

WORDS: dict[str, tuple[str, str]] = {
    # msgid: (French, Spanish)
    "en": ("fr", "es"),
    "{what} by {dims}": ("{what} par {dims}", "{what} por {dims}"),
    "total": ("total", "total"),
    "One record may count under several {dims} values, so totals add up mentions.": (
        "Un enregistrement peut compter sous plusieurs valeurs de {dims} : les totaux "
        "additionnent des mentions.",
        "Un registro puede contar bajo varios valores de {dims}: los totales suman menciones.",
    ),
    "count": ("nombre", "número"),
    "testimonies": ("témoignages", "testimonios"),
    "findings": ("constats", "hallazgos"),
    "workers": ("travailleurs", "trabajadores"),
    "overdue findings": ("constats en retard", "hallazgos vencidos"),
    "allegation": ("allégation", "alegación"),
    "site": ("site", "centro"),
    "month": ("mois", "mes"),
    "status": ("statut", "estado"),
    "By allegation": ("Par allégation", "Por alegación"),
    "By site": ("Par site", "Por centro"),
    "By allegation and site": ("Par allégation et site", "Por alegación y centro"),
    "By month": ("Par mois", "Por mes"),
    "Monitoring report": ("Rapport de suivi", "Informe de seguimiento"),
    "{n} people": ("{n} personnes", "{n} personas"),
    "Policy": ("Politique", "Política"),
    "Policy SHA-256": ("SHA-256 de la politique", "SHA-256 de la política"),
    "Suppression threshold": ("Seuil de masquage", "Umbral de supresión"),
    "As of": ("Au", "A fecha de"),
    "Only records this policy would export are counted, and a worker counts once "
    "however many testimonies they gave. A count of fewer than {n} people, and any "
    "count that would give one back from the totals, is suppressed and shown as {mark}.": (
        "Seuls les enregistrements que cette politique exporterait sont comptés, et un "
        "travailleur compte une fois, quel que soit le nombre de ses témoignages. Un nombre "
        "de moins de {n} personnes, et tout nombre qui permettrait de le retrouver à partir "
        "des totaux, est masqué et affiché {mark}.",
        "Solo se cuentan los registros que esta política exportaría, y cada trabajador "
        "cuenta una vez, sean cuantos sean sus testimonios. Un número de menos de {n} "
        "personas, y todo número que permitiría recuperarlo a partir de los totales, se "
        "suprime y se muestra como {mark}.",
    ),
    "Not shown: {reason}.": ("Non affiché : {reason}.", "No se muestra: {reason}."),
    "Timeline of {what} by {dim}": (
        "Évolution des {what} par {dim}",
        "Evolución de {what} por {dim}",
    ),
    "Bars of {what} by {dim}": ("{what} par {dim}", "{what} por {dim}"),
    "suppressed": ("masqué", "suprimido"),
    "What was left out, and why": (
        "Ce qui a été écarté, et pourquoi",
        "Lo que se dejó fuera y por qué",
    ),
    "{n} records: {why} (the policy would not export them)": (
        "{n} enregistrements : {why} (la politique ne les exporterait pas)",
        "{n} registros: {why} (la política no los exportaría)",
    ),
    "No record was held back by the policy filters or consent.": (
        "Aucun enregistrement n'a été retenu par les filtres de la politique ou le consentement.",
        "Ningún registro quedó retenido por los filtros de la política o el consentimiento.",
    ),
    "{n} counts suppressed ({mark}) across the tables below.": (
        "{n} nombres masqués ({mark}) dans les tableaux ci-dessous.",
        "{n} números suprimidos ({mark}) en las tablas siguientes.",
    ),
    "Remediation progress": ("Avancement de la remédiation", "Avance de la remediación"),
    "Findings by site and status": ("Constats par site et statut", "Hallazgos por centro y estado"),
    "Findings by site × status": ("Constats par site × statut", "Hallazgos por centro × estado"),
    "Findings past their plan's due date on {day}": (
        "Constats dont le plan a dépassé son échéance au {day}",
        "Hallazgos cuyo plan superó su fecha límite el {day}",
    ),
    "Days from audit to remediation": (
        "Jours entre l'audit et la remédiation",
        "Días entre la auditoría y la remediación",
    ),
    "median": ("médiane", "mediana"),
    "90th percentile": ("90e centile", "percentil 90"),
}


def catalogue(lang: str) -> Catalog:
    index = {"fr": 0, "es": 1}[lang]
    catalog = Catalog(
        locale=lang,
        domain="evault",
        project="Evidence Vault",
        version="1",
        creation_date=FIXED,
        revision_date=FIXED,
        fuzzy=False,
    )
    for msgid, words in WORDS.items():
        catalog.add(msgid, words[index])
    return catalog


def main() -> None:
    for lang in ("fr", "es"):
        folder = HERE / lang / "LC_MESSAGES"
        folder.mkdir(parents=True, exist_ok=True)
        catalog = catalogue(lang)
        with open(folder / "evault.po", "wb") as po:
            write_po(po, catalog, omit_header=False, sort_output=True, width=88)
        with open(folder / "evault.mo", "wb") as mo:
            write_mo(mo, catalog)


if __name__ == "__main__":
    main()
