"""Write vault/locales/<lang>/LC_MESSAGES/evault.po and .mo from the words below.

Run after changing a report's or the command line's words: ``python tests/catalogues.py``
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


# What the command line itself says (vault/cli, and the import summary it prints),
# and the words of Click it shows (usage, help, its errors): Click reads them through
# gettext's global domain, which the command line points at these catalogues.
CLI_WORDS: dict[str, tuple[str, str]] = {
    "error": ("erreur", "error"),
    "warning": ("avertissement", "aviso"),
    "Commands": ("Commandes", "Comandos"),
    "Passphrase": ("Phrase de passe", "Frase de contraseña"),
    "New passphrase": ("Nouvelle phrase de passe", "Nueva frase de contraseña"),
    "Passphrase for {name}": ("Phrase de passe de {name}", "Frase de contraseña de {name}"),
    "Argon2id parameters below RFC 9106 recommendation": (
        "paramètres Argon2id en dessous de la recommandation de la RFC 9106",
        "parámetros de Argon2id por debajo de la recomendación del RFC 9106",
    ),
    "Created vault {vault_id} at {location} (custodian {custodian}).": (
        "Coffre {vault_id} créé à {location} (gardien {custodian}).",
        "Bóveda {vault_id} creada en {location} (custodio {custodian}).",
    ),
    "Imported {n} records ({parts})": (
        "{n} enregistrements importés ({parts})",
        "{n} registros importados ({parts})",
    ),
    "none": ("aucun", "ninguno"),
    "{n} new versions": ("{n} nouvelles versions", "{n} versiones nuevas"),
    "{n} unchanged": ("{n} inchangés", "{n} sin cambios"),
    "{n} skipped": ("{n} ignorés", "{n} omitidos"),
    "committed in {n} chunks": ("validé en {n} tranches", "confirmado en {n} tramos"),
    "Added {type} {id}.": ("Ajouté : {type} {id}.", "Añadido: {type} {id}."),
    "Updated {id}: now at version {version}.": (
        "{id} mis à jour : désormais en version {version}.",
        "{id} actualizado: ahora en la versión {version}.",
    ),
    "version {n} of {total}": ("version {n} sur {total}", "versión {n} de {total}"),
    "Added recipient {name} (key fingerprint {fingerprint}).": (
        "Destinataire {name} ajouté (empreinte de clé {fingerprint}).",
        "Destinatario {name} añadido (huella de clave {fingerprint}).",
    ),
    "Removed recipient {name}.": ("Destinataire {name} retiré.", "Destinatario {name} eliminado."),
    "Exported to {out} for {recipients} under policy {policy} (export {id}).": (
        "Exporté vers {out} pour {recipients} selon la politique {policy} (export {id}).",
        "Exportado a {out} para {recipients} según la política {policy} (exportación {id}).",
    ),
    "OK: export {id} from vault {vault_id}": (
        "OK : export {id} du coffre {vault_id}",
        "OK: exportación {id} de la bóveda {vault_id}",
    ),
    "{n} record lines, every hash matches the signed manifest": (
        "{n} lignes d'enregistrements, chaque empreinte correspond au manifeste signé",
        "{n} líneas de registros, cada hash coincide con el manifiesto firmado",
    ),
    "Wrote {out} ({fmt}) under policy {policy}: {hidden} counts suppressed "
    "(threshold {threshold}).": (
        "{out} écrit ({fmt}) selon la politique {policy} : {hidden} nombres masqués "
        "(seuil {threshold}).",
        "{out} escrito ({fmt}) según la política {policy}: {hidden} números suprimidos "
        "(umbral {threshold}).",
    ),
    "(one record may count under several {dims} values)": (
        "(un enregistrement peut compter sous plusieurs valeurs de {dims})",
        "(un registro puede contar bajo varios valores de {dims})",
    ),
    "Exact counts, inside the vault (not for sharing).": (
        "Nombres exacts, dans le coffre (à ne pas partager).",
        "Números exactos, dentro de la bóveda (no para compartir).",
    ),
    "Under policy {policy}: counts of fewer than {n} people, and counts that would give "
    "one back, are suppressed ({mark}).": (
        "Selon la politique {policy} : les nombres de moins de {n} personnes, et ceux qui "
        "permettraient de les retrouver, sont masqués ({mark}).",
        "Según la política {policy}: los números de menos de {n} personas, y los que "
        "permitirían recuperarlos, se suprimen ({mark}).",
    ),
    "Remediation plans past their due date on {day}:": (
        "Plans de remédiation ayant dépassé leur échéance au {day} :",
        "Planes de remediación que superaron su fecha límite el {day}:",
    ),
    "Days from audit to remediation (median, 90th percentile):": (
        "Jours entre l'audit et la remédiation (médiane, 90e centile) :",
        "Días entre la auditoría y la remediación (mediana, percentil 90):",
    ),
    "no remediated finding carries a remediation date": (
        "aucun constat remédié ne porte de date de remédiation",
        "ningún hallazgo remediado lleva fecha de remediación",
    ),
    "(fewer than {n} findings)": ("(moins de {n} constats)", "(menos de {n} hallazgos)"),
    "Left out, as the policy would leave them out of an export: {left}.": (
        "Écartés, comme la politique les écarterait d'un export : {left}.",
        "Dejados fuera, como la política los dejaría fuera de una exportación: {left}.",
    ),
    "Wrote {out} ({size} bytes, sha256 {sha256}).": (
        "{out} écrit ({size} octets, sha256 {sha256}).",
        "{out} escrito ({size} bytes, sha256 {sha256}).",
    ),
    "OK: {id} matches its intake SHA-256 {sha256}.": (
        "OK : {id} correspond à son SHA-256 d'entrée {sha256}.",
        "OK: {id} coincide con su SHA-256 de entrada {sha256}.",
    ),
    "Wrote {out} ({size} bytes).": (
        "{out} écrit ({size} octets).",
        "{out} escrito ({size} bytes).",
    ),
    "Wrote checkpoint of {n} entries to {out}.": (
        "Point de contrôle de {n} entrées écrit dans {out}.",
        "Punto de control de {n} entradas escrito en {out}.",
    ),
    "Key versions below {n} are retired.": (
        "Les versions de clé inférieures à {n} sont retirées.",
        "Las versiones de clave inferiores a {n} quedan retiradas.",
    ),
    # Custodians, sessions, identity requests and recovery.
    "Added custodian {name} ({role}).": (
        "Gardien {name} ajouté ({role}).",
        "Custodio {name} añadido ({role}).",
    ),
    "Removed custodian {name}.": ("Gardien {name} retiré.", "Custodio {name} eliminado."),
    "Passphrase changed for custodian {name!r}.": (
        "Phrase de passe changée pour le gardien {name!r}.",
        "Frase de contraseña cambiada para el custodio {name!r}.",
    ),
    "# export EVAULT_SESSION=<the line above>   (until {time} UTC)": (
        "# export EVAULT_SESSION=<la ligne ci-dessus>   (jusqu'à {time} UTC)",
        "# export EVAULT_SESSION=<la línea de arriba>   (hasta las {time} UTC)",
    ),
    "Session ended; unset EVAULT_SESSION.": (
        "Session terminée ; retirez EVAULT_SESSION (unset).",
        "Sesión terminada; quite EVAULT_SESSION (unset).",
    ),
    "Approved {id}.": ("{id} approuvée.", "{id} aprobada."),
    "Refused {id}.": ("{id} refusée.", "{id} rechazada."),
    "pending": ("en attente", "pendiente"),
    "share {n}: {words}": ("part {n} : {words}", "parte {n}: {words}"),
    "Wrote {n} shares to {out} (any {threshold} restore).": (
        "{n} parts écrites dans {out} ({threshold} d'entre elles suffisent à restaurer).",
        "{n} partes escritas en {out} (cualesquiera {threshold} bastan para restaurar).",
    ),
    "share (empty to finish)": ("part (vide pour terminer)", "parte (vacía para terminar)"),
    "Restored: custodian {name!r} has a new passphrase.": (
        "Restauré : le gardien {name!r} a une nouvelle phrase de passe.",
        "Restaurado: el custodio {name!r} tiene una nueva frase de contraseña.",
    ),
    # Policies, exports and their verification.
    "{file}: valid policy {name!r} for audience {audience!r} (sha256 {sha256}).": (
        "{file} : politique {name!r} valide pour le public {audience!r} (sha256 {sha256}).",
        "{file}: política {name!r} válida para el público {audience!r} (sha256 {sha256}).",
    ),
    "{name:<10} needs {classes:<38} {description}": (
        "{name:<10} exige {classes:<38} {description}",
        "{name:<10} requiere {classes:<38} {description}",
    ),
    "{at}  {id}  {policy:<8} -> {recipient:<16} by {custodian}  {n} included": (
        "{at}  {id}  {policy:<8} -> {recipient:<16} par {custodian}  {n} inclus",
        "{at}  {id}  {policy:<8} -> {recipient:<16} por {custodian}  {n} incluidos",
    ),
    "policy {policy} (sha256 {sha256}…), for {names}, created {at}": (
        "politique {policy} (sha256 {sha256}…), pour {names}, créé le {at}",
        "política {policy} (sha256 {sha256}…), para {names}, creada el {at}",
    ),
    "onward terms (signed): {terms}": (
        "conditions de transmission (signées) : {terms}",
        "condiciones de transmisión (firmadas): {terms}",
    ),
    "Onward terms (signed): {terms}.": (
        "Conditions de transmission (signées) : {terms}.",
        "Condiciones de transmisión (firmadas): {terms}.",
    ),
    "may be passed on only to {audiences}": (
        "ne peut être transmis qu'à {audiences}",
        "solo puede transmitirse a {audiences}",
    ),
    "not to be passed on": ("à ne pas transmettre", "no debe transmitirse"),
    "pinned with --signer": ("épinglée avec --signer", "fijada con --signer"),
    "NOT pinned": ("NON épinglée", "NO fijada"),
    "signed by key {fingerprint}… ({pin})": (
        "signé par la clé {fingerprint}… ({pin})",
        "firmado con la clave {fingerprint}… ({pin})",
    ),
    "the signer is not verified; pass --signer with the vault's public key obtained "
    "from its custodian": (
        "le signataire n'est pas vérifié ; passez --signer avec la clé publique du coffre "
        "obtenue auprès de son gardien",
        "el firmante no está verificado; pase --signer con la clave pública de la bóveda "
        "obtenida de su custodio",
    ),
    "Wrote {out} (key fingerprint {fingerprint}).": (
        "{out} écrit (empreinte de clé {fingerprint}).",
        "{out} escrito (huella de clave {fingerprint}).",
    ),
    # Keys over time, erasure and retention.
    "Rotated to key version {version}: {records} record versions and {subjects} worker "
    "keys rewrapped.": (
        "Rotation vers la version de clé {version} : {records} versions d'enregistrements "
        "et {subjects} clés de travailleurs réenveloppées.",
        "Rotación a la versión de clave {version}: {records} versiones de registros y "
        "{subjects} claves de trabajadores reenvueltas.",
    ),
    "Erase this worker's identity for good?": (
        "Effacer définitivement l'identité de ce travailleur ?",
        "¿Borrar para siempre la identidad de este trabajador?",
    ),
    "Already erased: no identity key of this worker is left.": (
        "Déjà effacée : il ne reste aucune clé d'identité de ce travailleur.",
        "Ya borrada: no queda ninguna clave de identidad de este trabajador.",
    ),
    "Erased {n} worker identity key(s).": (
        "{n} clé(s) d'identité de travailleur effacée(s).",
        "{n} clave(s) de identidad de trabajador borrada(s).",
    ),
    "Retention rule removed.": (
        "Règle de conservation supprimée.",
        "Regla de conservación eliminada.",
    ),
    "Identities go {n} days after remediation.": (
        "Les identités sont effacées {n} jours après la remédiation.",
        "Las identidades se borran {n} días después de la remediación.",
    ),
    "{due} worker identities due; would erase {n}.": (
        "{due} identités de travailleurs à échéance ; {n} seraient effacées.",
        "{due} identidades de trabajadores vencidas; se borrarían {n}.",
    ),
    "{due} worker identities due; erased {n}.": (
        "{due} identités de travailleurs à échéance ; {n} effacées.",
        "{due} identidades de trabajadores vencidas; {n} borradas.",
    ),
    # Partners and what they send.
    "Pinned partner {name}: signing key fingerprint {fingerprint}": (
        "Partenaire {name} épinglé : empreinte de la clé de signature {fingerprint}",
        "Socio {name} fijado: huella de la clave de firma {fingerprint}",
    ),
    "Compare it with the partner's own, by a channel other than the one the key came by.": (
        "Comparez-la avec celle du partenaire, par un autre canal que celui par lequel la "
        "clé est arrivée.",
        "Compárela con la del socio, por un canal distinto de aquel por el que llegó la clave.",
    ),
    "nothing received yet": ("rien reçu pour l'instant", "nada recibido todavía"),
    "last export {id} made {at}": (
        "dernier export {id} fait le {at}",
        "última exportación {id} hecha el {at}",
    ),
    "Removed partner {name}.": ("Partenaire {name} retiré.", "Socio {name} eliminado."),
    "Received export {id} from partner {partner} (policy {policy}, made {at}): {new} new, "
    "{updated} updated, {unchanged} unchanged ({kinds}).": (
        "Export {id} reçu du partenaire {partner} (politique {policy}, fait le {at}) : "
        "{new} nouveaux, {updated} mis à jour, {unchanged} inchangés ({kinds}).",
        "Exportación {id} recibida del socio {partner} (política {policy}, hecha el {at}): "
        "{new} nuevos, {updated} actualizados, {unchanged} sin cambios ({kinds}).",
    ),
    "Evidence files not received: {n}.": (
        "Fichiers de preuve non reçus : {n}.",
        "Archivos de prueba no recibidos: {n}.",
    ),
    # Checking the vault and its backups.
    "damaged: {finding}": ("endommagé : {finding}", "dañado: {finding}"),
    "... and {n} more": ("... et {n} de plus", "... y {n} más"),
    "{n} damaged": ("{n} endommagés", "{n} dañados"),
    "no damage found": ("aucun dommage trouvé", "ningún daño encontrado"),
    "{n} received versions": ("{n} versions reçues", "{n} versiones recibidas"),
    "Checked the {database} database, {signed_rows} signed rows, {worker_keys} worker "
    "keys, {records} records ({versions} versions; classes opened: {classes}), "
    "{received}{files} files and {audit_entries} audit entries: {verdict}": (
        "Vérifié : la base de données {database}, {signed_rows} lignes signées, "
        "{worker_keys} clés de travailleurs, {records} enregistrements ({versions} "
        "versions ; classes ouvertes : {classes}), {received}{files} fichiers et "
        "{audit_entries} entrées d'audit : {verdict}",
        "Comprobado: la base de datos {database}, {signed_rows} filas firmadas, "
        "{worker_keys} claves de trabajadores, {records} registros ({versions} versiones; "
        "clases abiertas: {classes}), {received}{files} archivos y {audit_entries} "
        "entradas de auditoría: {verdict}",
    ),
    "(the audit log could not record this check).": (
        "(le journal d'audit n'a pas pu enregistrer cette vérification).",
        "(el registro de auditoría no pudo anotar esta comprobación).",
    ),
    "{n} reads were recorded in {journal} while the audit log could not take them.": (
        "{n} lectures ont été consignées dans {journal} tant que le journal d'audit ne "
        "pouvait pas les recevoir.",
        "{n} lecturas se anotaron en {journal} mientras el registro de auditoría no podía "
        "recibirlas.",
    ),
    "records opened": ("enregistrements ouverts", "registros abiertos"),
    "records not opened": ("enregistrements non ouverts", "registros no abiertos"),
    "OK": ("OK", "OK"),
    "{verdict}: vault {vault_id}, {records} records, {audit_entries} audit entries ({opened}).": (
        "{verdict} : coffre {vault_id}, {records} enregistrements, {audit_entries} "
        "entrées d'audit ({opened}).",
        "{verdict}: bóveda {vault_id}, {records} registros, {audit_entries} entradas de "
        "auditoría ({opened}).",
    ),
    "Restored vault {vault_id} ({records} records) into {folder}; run 'evault audit "
    "verify' once unlocked.": (
        "Coffre {vault_id} restauré ({records} enregistrements) dans {folder} ; lancez "
        "« evault audit verify » une fois déverrouillé.",
        "Bóveda {vault_id} restaurada ({records} registros) en {folder}; ejecute "
        "«evault audit verify» una vez desbloqueada.",
    ),
    "OK: {n} entries, head {head}…": (
        "OK : {n} entrées, tête {head}…",
        "OK: {n} entradas, cabeza {head}…",
    ),
    "OK: {n} entries, head {head}…, consistent with the checkpoint at {size}": (
        "OK : {n} entrées, tête {head}…, cohérent avec le point de contrôle à {size}",
        "OK: {n} entradas, cabeza {head}…, coherente con el punto de control en {size}",
    ),
    # Review, tokens and the server.
    "Applied {n} review decisions for policy {policy}.": (
        "{n} décisions de relecture appliquées pour la politique {policy}.",
        "{n} decisiones de revisión aplicadas para la política {policy}.",
    ),
    "revoked": ("révoqué", "revocado"),
    "expires {at}": ("expire {at}", "caduca {at}"),
    "never": ("jamais", "nunca"),
    "Revoked {name}.": ("{name} révoqué.", "{name} revocado."),
    "serving the HTTP API on {url} (export files wait in {folder})": (
        "API HTTP servie sur {url} (les fichiers d'export attendent dans {folder})",
        "API HTTP servida en {url} (los archivos de exportación esperan en {folder})",
    ),
    # The demo.
    "1. Creating a vault in {folder} (Argon2id, 64 MiB, t=3, p=4) ...": (
        "1. Création d'un coffre dans {folder} (Argon2id, 64 MiB, t=3, p=4) ...",
        "1. Creando una bóveda en {folder} (Argon2id, 64 MiB, t=3, p=4) ...",
    ),
    "2. Imported the fictional sample data: {parts}.": (
        "2. Données d'exemple fictives importées : {parts}.",
        "2. Datos de ejemplo ficticios importados: {parts}.",
    ),
    "3. The records (list shows no sensitive field):": (
        "3. Les enregistrements (la liste ne montre aucun champ sensible) :",
        "3. Los registros (la lista no muestra ningún campo sensible):",
    ),
    "4. One testimony, decrypted; the worker's identity stays sealed:": (
        "4. Un témoignage, déchiffré ; l'identité du travailleur reste scellée :",
        "4. Un testimonio, descifrado; la identidad del trabajador sigue sellada:",
    ),
    "Identity after a request and a second custodian's approval (audited): {name}, {phone}": (
        "Identité après une demande et l'approbation d'un second gardien (auditée) : "
        "{name}, {phone}",
        "Identidad tras una solicitud y la aprobación de un segundo custodio (auditada): "
        "{name}, {phone}",
    ),
    "5. Blind-index lookup of employee id {id}: {hits}": (
        "5. Recherche par index aveugle du matricule {id} : {hits}",
        "5. Búsqueda por índice ciego del número de empleado {id}: {hits}",
    ),
    "6. Exported under the {policy!r} policy to {file} (age-encrypted, signed): {counts}": (
        "6. Exporté selon la politique {policy!r} vers {file} (chiffré avec age, signé) : {counts}",
        "6. Exportado según la política {policy!r} a {file} (cifrado con age, firmado): {counts}",
    ),
    "7. Verified as the recipient would: signature by the pinned vault key, {n} record "
    "lines, every hash matches.": (
        "7. Vérifié comme le ferait le destinataire : signature par la clé épinglée du "
        "coffre, {n} lignes d'enregistrements, chaque empreinte correspond.",
        "7. Verificado como lo haría el destinatario: firma con la clave fijada de la "
        "bóveda, {n} líneas de registros, cada hash coincide.",
    ),
    "Where everything is:": ("Où tout se trouve :", "Dónde está todo:"),
    "vault folder": ("dossier du coffre", "carpeta de la bóveda"),
    "(one encrypted SQLite file)": (
        "(un fichier SQLite chiffré)",
        "(un archivo SQLite cifrado)",
    ),
    "passphrase": ("phrase de passe", "frase de contraseña"),
    "(demo only; keep real ones out of files)": (
        "(démo seulement ; gardez les vraies hors des fichiers)",
        "(solo para la demo; no guarde las reales en archivos)",
    ),
    "sample data": ("données d'exemple", "datos de ejemplo"),
    "export": ("export", "exportación"),
    "recipient's key": ("clé du destinataire", "clave del destinatario"),
    "vault public key": ("clé publique du coffre", "clave pública de la bóveda"),
    "second custodian": ("second gardien", "segundo custodio"),
    "{name}, passphrase in {file}": (
        "{name}, phrase de passe dans {file}",
        "{name}, frase de contraseña en {file}",
    ),
    "Try:": ("Essayez :", "Pruebe:"),
    "({n} record)": ("({n} enregistrement)", "({n} registro)"),
    "({n} records)": ("({n} enregistrements)", "({n} registros)"),
    "nothing": ("rien", "nada"),
    "Included: {included}. Left out: {excluded}.": (
        "Inclus : {included}. Écartés : {excluded}.",
        "Incluidos: {included}. Dejados fuera: {excluded}.",
    ),
    "Free text still carrying a risk cue: {n} records ({kinds}).": (
        "Texte libre portant encore un indice de risque : {n} enregistrements ({kinds}).",
        "Texto libre que aún lleva un indicio de riesgo: {n} registros ({kinds}).",
    ),
    "Free texts reviewed: {reviewed}; held back awaiting review: {waiting} "
    "(see `evault review --policy ...`).": (
        "Textes libres relus : {reviewed} ; retenus en attente de relecture : {waiting} "
        "(voir `evault review --policy ...`).",
        "Textos libres revisados: {reviewed}; retenidos a la espera de revisión: {waiting} "
        "(véase `evault review --policy ...`).",
    ),
    # Click's own words.
    "Usage:": ("Utilisation :", "Uso:"),
    "Options": ("Options", "Opciones"),
    "Show this message and exit.": (
        "Afficher ce message et quitter.",
        "Mostrar este mensaje y salir.",
    ),
    "Show the version and exit.": (
        "Afficher la version et quitter.",
        "Mostrar la versión y salir.",
    ),
    "Error: {message}": ("Erreur : {message}", "Error: {message}"),
    "Try '{command} {option}' for help.": (
        "Essayez « {command} {option} » pour obtenir de l'aide.",
        "Pruebe «{command} {option}» para obtener ayuda.",
    ),
    "No such command {name!r}.": (
        "Commande inconnue : {name!r}.",
        "No existe el comando {name!r}.",
    ),
    "No such option {name!r}.": ("Option inconnue : {name!r}.", "No existe la opción {name!r}."),
    "Missing argument": ("Argument manquant", "Falta un argumento"),
    "Missing option": ("Option manquante", "Falta una opción"),
    "Missing command.": ("Commande manquante.", "Falta un comando."),
    "Invalid value for {param_hint}: {message}": (
        "Valeur invalide pour {param_hint} : {message}",
        "Valor no válido para {param_hint}: {message}",
    ),
    "Repeat for confirmation": ("Répétez pour confirmer", "Repita para confirmar"),
    "Error: The two entered values do not match.": (
        "Erreur : les deux valeurs saisies ne correspondent pas.",
        "Error: los dos valores introducidos no coinciden.",
    ),
    "Aborted!": ("Abandon !", "¡Cancelado!"),
    "env var: {var}": ("variable d'environnement : {var}", "variable de entorno: {var}"),
    "default: {default}": ("par défaut : {default}", "por defecto: {default}"),
}
# Click's words that change with a number: (singular, plural) -> French, Spanish.
CLI_PLURALS: dict[tuple[str, str], tuple[tuple[str, str], tuple[str, str]]] = {
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."): (
        ("{value!r} n'est pas {choice}.", "{value!r} n'est pas l'une des valeurs {choices}."),
        ("{value!r} no es {choice}.", "{value!r} no es uno de {choices}."),
    ),
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"): (
        (
            "Argument supplémentaire inattendu ({args})",
            "Arguments supplémentaires inattendus ({args})",
        ),
        ("Argumento adicional inesperado ({args})", "Argumentos adicionales inesperados ({args})"),
    ),
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"): (
        ("Vouliez-vous dire {possibility} ?", "(Vouliez-vous dire l'une de : {possibilities} ?)"),
        ("¿Quiso decir {possibility}?", "(¿Quiso decir uno de: {possibilities}?)"),
    ),
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
    for msgid, words in (WORDS | CLI_WORDS).items():
        catalog.add(msgid, words[index])
    for plural, forms in CLI_PLURALS.items():
        # CLDR's rules give French and Spanish a third form (for a million): the plural.
        one, many = forms[index]
        catalog.add(plural, (one, *[many] * (catalog.num_plurals - 1)))
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
