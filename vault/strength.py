"""The strength floor for new passphrases.

Invariants: every passphrase a vault starts to accept — a new vault's, a new
custodian's, a changed one, one set by recovery — is estimated by zxcvbn (Dropbox's
estimator: dictionaries, names, keyboard patterns, repeats, dates, l33t) with the
custodian's name and the vault's own words counted as easy guesses, and refused
below :data:`MIN_SCORE` of 4. The refusal says why in zxcvbn's words, never the
passphrase or any part of it. There is no switch that turns the floor off.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from vault.crypto import Passphrase
from vault.errors import InvalidInputError

__all__ = ["MIN_SCORE", "check_new_passphrase"]

#: zxcvbn's scale: 0 too guessable, 1 very, 2 somewhat, 3 safely unguessable
#: (about 10^8 guesses or more), 4 very unguessable.
MIN_SCORE: Final = 3

# Words anyone guessing a custodian's passphrase tries first.
_CONTEXT: Final = ("evault", "evidence", "vault", "passphrase", "password", "custodian", "admin")


def check_new_passphrase(passphrase: Passphrase, *, names: Iterable[str] = ()) -> None:
    """Refuse (InvalidInputError, exit 5) a new passphrase below the floor; ``names``
    (the custodian's) count as easy guesses."""
    # Imported here: its dictionaries take a tenth of a second to load, and only
    # commands that set a passphrase need them.
    from zxcvbn import zxcvbn  # noqa: PLC0415

    result = zxcvbn(
        passphrase.encode().decode("utf-8"),
        user_inputs=[*_CONTEXT, *(n for n in names if isinstance(n, str))],
    )
    score = int(result["score"])
    if score >= MIN_SCORE:
        return
    feedback = result["feedback"]
    # zxcvbn's feedback is fixed text (its examples are its own, such as "aaa").
    why = str(feedback.get("warning") or "").rstrip(".")
    if not why:
        when = result["crack_times_display"]["offline_slow_hashing_1e4_per_second"]
        why = f"it could be guessed in {when} at 10,000 guesses a second"
    tips = " ".join(str(t) for t in feedback.get("suggestions") or ())
    raise InvalidInputError(
        f"the new passphrase is too easy to guess (strength {score} of 4, at least "
        f"{MIN_SCORE} needed): {why}."
        + (f" {tips}" if tips else "")
        + " Several unrelated words, or a long random phrase, will do."
    )
