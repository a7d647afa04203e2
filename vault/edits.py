"""A record's next version: the current version, the fields an edit gives, and the
fields it removes by name.

An update (``evault update``, :meth:`vault.Vault.update`, ``PATCH /records/{id}``)
says what changes; everything else is carried over. Invariants:

* No field of the current version is dropped silently. A field the edit neither
  gives nor removes is carried over as it was; one held under a class the editor
  cannot open cannot be carried over, and the edit is refused, naming it, unless
  it removes that field explicitly.
* Removal is explicit: a field goes only when the edit names it (``remove``, or
  null in a JSON merge patch, RFC 7396). A field given as null where the current
  version holds a value is refused, never read as "remove".
* A required field cannot be removed, a field cannot be both given and removed, and
  a name that is not a field of the record's type is refused without being repeated
  unless it reads as a field name.
* Groups (``worker``, ``consent``) merge field by field; every other value, lists
  included, is replaced whole.
* Nothing here opens, seals or stores anything; no message holds a value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final, Literal, get_args

from vault.errors import InvalidInputError, PermissionDeniedError
from vault.schema import RECORD_SPECS, RecordType

__all__ = ["MATCH_KEYS", "ON_CONFLICT", "MatchKey", "OnConflict", "merge_patch", "revise"]

# What an import does with a record the vault holds that it would change
# (vault.ingest): refuse the whole file, skip the record, or store its next version.
OnConflict = Literal["fail", "skip", "new-version"]
ON_CONFLICT: Final = get_args(OnConflict)
# How an import finds a record it meets again: by id, or by type and source key.
MatchKey = Literal["id", "source_key"]
MATCH_KEYS: Final = get_args(MatchKey)

# What a name given for removal may look like to be repeated in a message.
_FIELD_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,39}(\.[a-z][a-z0-9_]{0,39})?")


def merge_patch(patch: Any, where: str) -> tuple[dict[str, Any], list[str]]:
    """A JSON merge patch (RFC 7396) as the fields it gives and the fields it removes.

    Members that are null remove their field, at the top and inside a group
    (``{"worker": {"phone": null}}`` removes ``worker.phone``); every other member is
    given. Objects below a group are no field of any record and are passed on for
    validation to refuse.
    """
    if not isinstance(patch, dict):
        raise InvalidInputError("a merge patch must be a JSON object", where=where)
    given: dict[str, Any] = {}
    removed: list[str] = []
    for key, value in patch.items():
        if value is None:
            removed.append(str(key))
        elif isinstance(value, dict):
            kept = {sub: v for sub, v in value.items() if v is not None}
            removed.extend(f"{key}.{sub}" for sub, v in value.items() if v is None)
            if kept or not value:
                given[key] = kept
        else:
            given[key] = value
    return given, removed


def revise(
    current: Mapping[str, Any],
    unreadable: Mapping[str, str],
    given: Any,
    remove: Iterable[str],
    *,
    where: str,
) -> dict[str, Any]:
    """The next version of ``current``: ``given``'s fields over it, without the
    fields ``remove`` names (a field such as ``worker.phone``, or a whole group).

    ``current`` is the current version as the editor reads it (with its ``type``);
    ``unreadable`` maps each field the current version holds under a class the
    editor cannot open to that class. The result is still to be validated.
    """
    if not isinstance(given, Mapping):
        raise InvalidInputError("a record must be a JSON object", where=where)
    spec = RECORD_SPECS[current["type"]]
    removed = _removals(spec, remove, where)
    given_paths = list(_leaves(spec, given))
    for path in removed:
        if any(_within(p, path) or _within(path, p) for p in given_paths):
            raise InvalidInputError(f"field {path!r} is both given and removed", where=where)
    out: dict[str, Any] = {
        key: dict(value) if key in spec.groups and isinstance(value, dict) else value
        for key, value in current.items()
    }
    for key, value in given.items():
        held = out.get(key)
        merges = key in spec.groups and isinstance(value, Mapping)
        if merges and (held is None or isinstance(held, dict)):
            group: dict[str, Any] = held if isinstance(held, dict) else {}
            for sub, subvalue in value.items():
                _refuse_null(f"{key}.{sub}", subvalue, group.get(sub), unreadable, where)
                group[sub] = subvalue
            out[key] = group
        else:
            _refuse_null(str(key), value, held, unreadable, where)
            out[key] = value
    for path in removed:
        head, _, tail = path.partition(".")
        if not tail:
            out.pop(head, None)
        elif isinstance(holder := out.get(head), dict):
            holder.pop(tail, None)
    dropped = [
        p
        for p in unreadable
        if not any(_within(p, g) for g in given_paths) and not any(_within(p, r) for r in removed)
    ]
    if dropped:
        raise _would_drop(dropped, unreadable)
    return out


def _within(path: str, outer: str) -> bool:
    """Whether ``path`` is ``outer`` or one of its fields (``worker.name`` in ``worker``)."""
    return path == outer or path.startswith(outer + ".")


def _leaves(spec: RecordType, given: Mapping[str, Any]) -> Iterator[str]:
    """The fields an edit gives: a group's own fields, any other value whole."""
    for key, value in given.items():
        if key in spec.groups and isinstance(value, Mapping):
            for sub in value:
                yield f"{key}.{sub}"
        else:
            yield str(key)


def _removals(spec: RecordType, remove: Iterable[str], where: str) -> list[str]:
    out: list[str] = []
    for name in remove:
        field = spec.fields.get(name) if isinstance(name, str) else None
        if field is None:
            shown = repr(name) if isinstance(name, str) and _FIELD_NAME.fullmatch(name) else ""
            raise InvalidInputError(
                f"cannot remove {shown or 'a field'}: no such field of a {spec.name}", where=where
            )
        if field.required:
            raise InvalidInputError(
                f"field {name!r} is required: it cannot be removed", where=where
            )
        if name not in out:
            out.append(name)
    return out


def _refuse_null(
    path: str, value: Any, old: Any, unreadable: Mapping[str, str], where: str
) -> None:
    """A null over a held value would drop it: removal must say so by name."""
    if value is not None:
        return
    if old is not None or any(_within(p, path) for p in unreadable):
        raise InvalidInputError(
            f"field {path!r} is given as null but holds a value: "
            "to remove it, name it for removal (--remove, or null in a merge patch)",
            where=where,
        )


def _would_drop(dropped: list[str], unreadable: Mapping[str, str]) -> PermissionDeniedError:
    classes = sorted({unreadable[p] for p in dropped})
    return PermissionDeniedError(
        f"the current version holds {' and '.join(classes)} fields this custodian cannot "
        f"read ({', '.join(dropped)}), so an update cannot carry them over: update with "
        f"{' and '.join(classes)} clearance, or remove them explicitly "
        f"({' '.join('--remove ' + p for p in dropped)})"
    )
