"""Free text that names no one: what the scrubber removes, what it keeps, how fast.

Scrubs the seeded multilingual corpus of bench/disclosure_corpus.py (480 fictional
testimonies in vi, th, zh, cs, es, id, fr, en, loaded site by site as an export does)
three ways in the same run:

* known terms only: ``Scrubber.replace_terms`` (the baseline)
* scrub:            ``Scrubber.scrub_flagged`` where it exists, else ``Scrubber.scrub``
* scrub + NER:      the same with ``Scrubber(ner=True)``, when the scrubber takes it

and prints, per span type (and subkind) and per language, strict recall (a gold span
counts as removed when none of its pieces is left at its place in the output), the
rate of "the only ..." descriptions flagged ``only``, the share of ordinary content
words kept, and narratives per second with and without loading each site's terms.

    python bench/disclosure.py [--n 480] [--seed 13] [--repeat 3] [--show-misses K] [--json]

How a piece is judged "left": the output is aligned to the input (runs of unchanged
text), the span's place is mapped into the output, and the piece is looked for there
after folding both (case, Latin/Cyrillic diacritics, invisible characters, any decimal
digit as ASCII), as a whole word in spaced scripts and as a substring in Thai and
Chinese. Placeholders such as ``[WORKER-3]`` never count as a piece. Judging each span
at its own place is what keeps "Lan" apart from the word "lần" three words later.
A content word is kept when it stands unchanged, with the same letter case, at its place.
"""

from __future__ import annotations

import argparse
import bisect
import inspect
import json
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent))

from disclosure_corpus import build
from disclosure_model import (
    KINDS,
    LANGUAGES,
    Narrative,
    Site,
    Span,
    char_class,
    fold,
    fold_map,
)

from vault.scrub import Scrubber, site_terms_from

__all__ = ["Run", "Score", "Tally", "align", "run", "score"]

# Targets of the issue: strict recall per span type (``only_description``: flagged),
# content words kept in every language, narratives per second without NER.
TARGETS: Final = {
    "employee_id": 0.95,
    "badge": 0.95,
    "phone": 0.95,
    "email": 0.95,
    "handle": 0.95,
    "dob": 0.95,
    "name_variant": 0.90,
    "other_person": 0.90,
    "small_place": 0.80,
    "only_description": 0.90,
}
KEEP_TARGET: Final = 0.90
SPEED_TARGET: Final = 500.0
_PLACEHOLDER: Final = re.compile(r"\[[A-Z][A-Z0-9_]*(?:-[A-Z0-9_]+)*\]")
_ANCHOR: Final = 10  # unchanged characters that resynchronise input and output

Outputs = Mapping[str, tuple[str, frozenset[str]]]


@dataclass
class Tally:
    hit: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.hit += ok
        self.total += 1

    @property
    def rate(self) -> float | None:
        return self.hit / self.total if self.total else None


@dataclass(frozen=True)
class Miss:
    narrative: str
    language: str
    kind: str
    subkind: str
    text: str
    left: tuple[str, ...]
    output: str  # what stands at the span's place in the output


def _tallies() -> defaultdict[str, Tally]:
    return defaultdict(Tally)


@dataclass
class Score:
    """One scrubber's outputs judged against the gold annotations."""

    removed: defaultdict[str, Tally] = field(default_factory=_tallies)  # by kind
    removed_sub: defaultdict[str, Tally] = field(default_factory=_tallies)  # "kind/subkind"
    removed_lang: defaultdict[str, Tally] = field(default_factory=_tallies)  # every removal span
    removed_lang_kind: defaultdict[str, Tally] = field(default_factory=_tallies)  # "lang/kind"
    kept: Tally = field(default_factory=Tally)
    kept_lang: defaultdict[str, Tally] = field(default_factory=_tallies)
    only_lang: defaultdict[str, Tally] = field(default_factory=_tallies)
    false_only: Tally = field(default_factory=Tally)  # "only" on narratives without one
    flags: Counter[str] = field(default_factory=Counter)  # narratives per flag kind
    misses: dict[str, list[Miss]] = field(default_factory=dict)

    def rate(self, key: str) -> float | None:
        """Strict recall of a kind, or of one subkind as ``"kind/subkind"``."""
        table = self.removed_sub if "/" in key else self.removed
        return table[key].rate if key in table else None

    def as_dict(self) -> dict[str, Any]:
        def tallies(d: Mapping[str, Tally]) -> dict[str, Any]:
            return {k: {**asdict(t), "rate": t.rate} for k, t in sorted(d.items())}

        return {
            "removed": tallies(self.removed),
            "removed_by_subkind": tallies(self.removed_sub),
            "removed_by_language": tallies(self.removed_lang),
            "removed_by_language_and_kind": tallies(self.removed_lang_kind),
            "kept": {**asdict(self.kept), "rate": self.kept.rate},
            "kept_by_language": tallies(self.kept_lang),
            "only_flagged_by_language": tallies(self.only_lang),
            "false_only_flags": {**asdict(self.false_only), "rate": self.false_only.rate},
            "flags": dict(sorted(self.flags.items())),
            "misses": {k: [asdict(m) for m in v] for k, v in sorted(self.misses.items())},
        }


# --- where input text went in the output --------------------------------------------------


def _common_prefix(a: str, i: int, b: str, j: int) -> int:
    k = 0
    while True:
        x, y = a[i + k : i + k + 64], b[j + k : j + k + 64]
        if x == y and len(x) == 64:
            k += 64
            continue
        for c1, c2 in zip(x, y, strict=False):
            if c1 != c2:
                break
            k += 1
        return k


def _resync(a: str, i: int, b: str, j: int) -> tuple[int, int] | None:
    """The nearest (fewest characters skipped on both sides) place where ``_ANCHOR``
    characters of ``a`` after ``i`` stand unchanged in ``b`` after ``j``."""
    best: tuple[int, int] | None = None
    for di in range(len(a) - i):
        if best is not None and di >= best[0] + best[1]:
            break
        key = a[i + di : i + di + _ANCHOR]
        if len(key) < _ANCHOR:  # the input's tail: it must end the output too
            if not b.endswith(key) or len(b) - len(key) < j:
                continue
            dj = len(b) - len(key) - j
        else:
            pos = b.find(key, j)
            if pos < 0:
                continue
            dj = pos - j
        if best is None or di + dj < best[0] + best[1]:
            best = (di, dj)
    return None if best is None else (i + best[0], j + best[1])


def align(a: str, b: str) -> list[tuple[int, int, int]]:
    """Runs of text that ``b`` (a scrubber's output) kept unchanged from ``a``:
    ``(start in a, start in b, length)``, in order. Scrubbers replace spans and leave
    the rest, so matching runs greedily and resynchronising after each change is exact
    where it matters and costs next to nothing."""
    blocks: list[tuple[int, int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        k = _common_prefix(a, i, b, j)
        if k:
            blocks.append((i, j, k))
            i, j = i + k, j + k
            continue
        nxt = _resync(a, i, b, j)
        if nxt is None:
            break
        i, j = nxt
    return blocks


class _Places:
    """Maps a span of the input to the stretch of output that stands in its place.

    When less than half of the input came through unchanged, the alignment says little
    (a scrubber that rewrote everything), and every span's place is the whole output:
    a piece found anywhere is left, the safe side.
    """

    def __init__(self, text: str, out: str) -> None:
        self.out = out
        self.blocks = align(text, out)
        self.starts = [b[0] for b in self.blocks]
        self.out_len = len(out)
        self.whole = 2 * sum(b[2] for b in self.blocks) < len(text)
        self._folded: tuple[str, list[int]] | None = None

    def left(self, span: Span) -> tuple[str, ...]:
        """The pieces of ``span`` still standing at its place in the output."""
        if self.unchanged(span.start, span.end):
            return span.pieces
        if self._folded is None:
            masked = _PLACEHOLDER.sub(lambda m: "\x00" * len(m.group()), self.out)
            self._folded = fold_map(masked)
        text, starts = self._folded
        os, oe = self.region(span.start, span.end)
        return tuple(p for p in span.pieces if _found(text, fold(p), starts[os], starts[oe]))

    def kept(self, word: str, s: int, e: int) -> bool:
        """The content word stands unchanged, in the same letter case, at its place."""
        if self.unchanged(s, e):
            return True
        os, oe = self.region(s, e)
        return _found(self.out, word, os, oe)

    def unchanged(self, s: int, e: int) -> bool:
        idx = bisect.bisect_right(self.starts, s) - 1
        if idx < 0:
            return False
        i, _, k = self.blocks[idx]
        return e <= i + k

    def region(self, s: int, e: int) -> tuple[int, int]:
        if self.whole:
            return 0, self.out_len
        idx = bisect.bisect_right(self.starts, s) - 1
        if idx < 0:
            os = 0
        else:
            i, j, k = self.blocks[idx]
            os = j + (s - i) if s < i + k else j + k
        idx = bisect.bisect_right(self.starts, e - 1) - 1
        if idx >= 0 and e - 1 < self.blocks[idx][0] + self.blocks[idx][2]:
            i, j, _ = self.blocks[idx]
            oe = j + (e - i)
        else:
            oe = self.blocks[idx + 1][1] if idx + 1 < len(self.blocks) else self.out_len
        return os, max(os, oe)


def _whole(text: str, k: int, piece: str) -> bool:
    """``piece`` at ``k`` in ``text`` is not the middle of a longer word or number."""
    end = k + len(piece)
    before = char_class(text[k - 1]) if k > 0 else ""
    after = char_class(text[end]) if end < len(text) else ""
    return not (before and before == char_class(piece[0])) and not (
        after and after == char_class(piece[-1])
    )


def _found(text: str, piece: str, lo: int, hi: int) -> bool:
    k = text.find(piece, lo, hi)
    while k != -1:
        if _whole(text, k, piece):
            return True
        k = text.find(piece, k + 1, hi)
    return False


# --- scoring ------------------------------------------------------------------------------


def _narratives(sites: Iterable[Site]) -> Iterable[Narrative]:
    for site in sites:
        yield from site.narratives


def score(sites: Iterable[Site], outputs: Outputs, *, misses: int = 0) -> Score:
    """Judge ``outputs`` (narrative id -> scrubbed text and flag kinds) against the gold."""
    result = Score()
    for n in _narratives(sites):
        out, flags = outputs[n.id]
        result.flags.update(flags)
        places = _Places(n.text, out)
        has_only = False
        for span in n.spans:
            if span.kind == "only_description":
                has_only = True
                ok = "only" in flags
                result.only_lang[n.language].add(ok)
            else:
                left = places.left(span)
                ok = not left
                result.removed_lang[n.language].add(ok)
                if left and len(result.misses.setdefault(span.kind, [])) < misses:
                    os, oe = places.region(span.start, span.end)
                    miss = Miss(
                        n.id, n.language, span.kind, span.subkind, span.text, left, out[os:oe]
                    )
                    result.misses[span.kind].append(miss)
            result.removed[span.kind].add(ok)
            result.removed_sub[f"{span.kind}/{span.subkind}"].add(ok)
            result.removed_lang_kind[f"{n.language}/{span.kind}"].add(ok)
        if not has_only:
            result.false_only.add("only" in flags)
        for word in n.keep:
            kept = places.kept(word.text, word.start, word.end)
            result.kept.add(kept)
            result.kept_lang[n.language].add(kept)
    return result


# --- running a scrubber -------------------------------------------------------------------


@dataclass
class Run:
    outputs: dict[str, tuple[str, frozenset[str]]]
    scrub_seconds: float  # scrubbing only, best of the repeats
    total_seconds: float  # with collecting and loading each site's terms


def run(sites: list[Site], make: Callable[[], Any], method: str, *, repeat: int = 1) -> Run:
    """Scrub every narrative, site by site, with ``make()``'s ``method`` (``scrub``,
    ``scrub_flagged`` or ``replace_terms``); a method that returns only text raises no flags."""
    records = [(site, site.records) for site in sites]
    outputs: dict[str, tuple[str, frozenset[str]]] = {}
    best_scrub = best_total = float("inf")
    for _ in range(repeat):
        scrubber = make()
        scrub = getattr(scrubber, method)
        outputs = {}
        scrub_t = total_t = 0.0
        for site, recs in records:
            t0 = time.perf_counter()
            scrubber.load_site(site_terms_from(recs, site.country))
            t1 = time.perf_counter()
            for n in site.narratives:
                scrubber.start_record()
                got = scrub(n.text)
                outputs[n.id] = got if isinstance(got, tuple) else (got, frozenset())
            t2 = time.perf_counter()
            scrub_t += t2 - t1
            total_t += t2 - t0
        best_scrub, best_total = min(best_scrub, scrub_t), min(best_total, total_t)
    return Run(outputs, best_scrub, best_total)


def _ner_supported() -> bool:
    return "ner" in inspect.signature(Scrubber).parameters


def _make(ner: bool) -> Callable[[], Any]:
    options: dict[str, Any] = {"ner": True} if ner else {}
    return lambda: Scrubber("record", **options)


# --- report -------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:5.1f}%"


def _verdict(rate: float | None, target: float | None) -> str:
    if target is None or rate is None:
        return ""
    return "pass" if rate >= target else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=480, help="narratives (default 480)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--repeat", type=int, default=3, help="timing runs; the best counts")
    parser.add_argument("--show-misses", type=int, default=0, metavar="K")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    if args.n < 8 or args.repeat < 1:
        parser.error("--n must be at least 8 and --repeat at least 1")

    t = time.perf_counter()
    sites = build(args.n, args.seed)
    build_s = time.perf_counter() - t
    narratives = [n for s in sites for n in s.narratives]
    probe = Scrubber("record")
    scrub_method = "scrub_flagged" if hasattr(probe, "scrub_flagged") else "scrub"
    modes: dict[str, tuple[Callable[[], Any], str]] = {
        "terms": (_make(False), "replace_terms"),
        "scrub": (_make(False), scrub_method),
    }
    ner_note = "n/a (Scrubber takes no ner=)"
    if _ner_supported():
        modes["scrub+ner"] = (_make(True), scrub_method)
        ner_note = "Scrubber(ner=True)"
    runs: dict[str, Run] = {}
    scores: dict[str, Score] = {}
    for name, (make, method) in modes.items():
        try:
            runs[name] = run(sites, make, method, repeat=args.repeat)
        except Exception as exc:  # an NER model that cannot load is reported, not fatal
            if name != "scrub+ner":
                raise
            ner_note = f"n/a ({type(exc).__name__}: {exc})"
            continue
        scores[name] = score(sites, runs[name].outputs, misses=args.show_misses)

    count = len(narratives)
    speed = {
        name: {
            "narratives_per_s": count / r.scrub_seconds,
            "narratives_per_s_with_loading": count / r.total_seconds,
        }
        for name, r in runs.items()
    }
    report = {
        "corpus": {
            "narratives": count,
            "sites": len(sites),
            "languages": list(LANGUAGES),
            "seed": args.seed,
            "spans": sum(len(n.spans) for n in narratives),
            "keep_words": sum(len(n.keep) for n in narratives),
            "build_seconds": build_s,
        },
        "scrub_method": scrub_method,
        "ner": ner_note,
        "targets": {
            **TARGETS,
            "keep_every_language": KEEP_TARGET,
            "narratives_per_s": SPEED_TARGET,
        },
        "scores": {name: s.as_dict() for name, s in scores.items()},
        "speed": speed,
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    _print(report, scores, args.show_misses)


_MODES: Final = ("terms", "scrub", "scrub+ner")


def _print(report: dict[str, Any], scores: dict[str, Score], show_misses: int) -> None:
    c = report["corpus"]
    print(
        f"disclosure corpus: {c['narratives']} narratives in {len(c['languages'])} languages, "
        f"{c['sites']} sites, {c['spans']:,} gold spans, {c['keep_words']:,} content words "
        f"(seed {c['seed']}, built in {c['build_seconds']:.2f} s)"
    )
    print(f"scrub method: {report['scrub_method']}; NER: {report['ner']}")
    print("verdicts judge the scrub column; a piece left at a span's place is a miss\n")
    _print_recall(scores)
    _print_languages(report["corpus"]["languages"], scores)
    _print_matrix(report["corpus"]["languages"], scores["scrub"])
    _print_speed(report["speed"])
    if show_misses:
        print(f"\nmisses (up to {show_misses} per type; fictional text)")
        for kind, found in sorted(scores["scrub"].misses.items()):
            for miss in found:
                print(
                    f"  {kind}/{miss.subkind} [{miss.narrative}] {miss.text!r} "
                    f"-> left {list(miss.left)} in {miss.output!r}"
                )


def _print_recall(scores: dict[str, Score]) -> None:
    def cells(key: str) -> str:
        return "".join(f"{_pct(scores[m].rate(key)) if m in scores else 'n/a':>11}" for m in _MODES)

    print(
        f"{'strict recall':<30}{'spans':>7}{'terms only':>11}{'scrub':>11}{'scrub+NER':>11}  target"
    )
    scrub = scores["scrub"]
    for kind in KINDS:
        if kind not in scrub.removed:
            continue
        tally, target = scrub.removed[kind], TARGETS.get(kind)
        label = kind + (" (flagged)" if kind == "only_description" else "")
        goal = f">= {100 * target:.0f}%" if target else "-"
        print(f"{label:<30}{tally.total:>7}{cells(kind)}  {goal:<7} {_verdict(tally.rate, target)}")
        subs = sorted(k for k in scrub.removed_sub if k.startswith(kind + "/"))
        for sub in subs if len(subs) > 1 else ():
            print(f"  {sub.split('/', 1)[1]:<28}{scrub.removed_sub[sub].total:>7}{cells(sub)}")


def _print_languages(languages: list[str], scores: dict[str, Score]) -> None:
    scrub = scores["scrub"]
    print(
        f"\n{'by language':<12}{'spans':>7}{'recall':>9}{'only':>9}{'kept':>8}{'kept':>8}"
        f"{'kept':>11}  kept >= {100 * KEEP_TARGET:.0f}%"
    )
    print(f"{'':<12}{'':>7}{'scrub':>9}{'flagged':>9}{'terms':>8}{'scrub':>8}{'scrub+NER':>11}")

    def kept(lang: str | None) -> list[float | None]:
        return [
            (scores[m].kept if lang is None else scores[m].kept_lang[lang]).rate
            if m in scores
            else None
            for m in _MODES
        ]

    for lang in [*languages, None]:
        removed = scrub.removed_lang.values() if lang is None else [scrub.removed_lang[lang]]
        total = sum(t.total for t in removed)
        recall = sum(t.hit for t in removed) / total if total else None
        only = scrub.removed.get("only_description") if lang is None else scrub.only_lang[lang]
        k_terms, k_scrub, k_ner = kept(lang)
        verdict = _verdict(k_scrub, KEEP_TARGET) if lang else ""
        print(
            f"{lang or 'all':<12}{total:>7}{_pct(recall):>9}{_pct(only.rate if only else None):>9}"
            f"{_pct(k_terms):>8}{_pct(k_scrub):>8}{_pct(k_ner):>11}  {verdict}"
        )
    flags = ", ".join(f"{k}: {v}" for k, v in sorted(scrub.flags.items())) or "none"
    print(f"\nflags raised by scrub (narratives): {flags}")
    print(
        "'only' flagged on narratives without such a description: "
        f"{scrub.false_only.hit} of {scrub.false_only.total}"
    )


def _print_matrix(languages: list[str], scrub: Score) -> None:
    print(f"\n{'scrub recall by type':<28}" + "".join(f"{lang:>7}" for lang in languages))
    for kind in KINDS:
        cells = [scrub.removed_lang_kind.get(f"{lang}/{kind}") for lang in languages]
        rates = "".join(f"{_pct(t.rate if t else None).strip():>7}" for t in cells)
        print(f"{kind:<28}{rates}")


def _print_speed(speed: dict[str, dict[str, float]]) -> None:
    labels = {
        "terms": "known terms only (replace_terms)",
        "scrub": "scrub",
        "scrub+ner": "scrub + NER",
    }
    print(f"\n{'speed (best of runs)':<36}{'narratives/s':>14}{'with site loading':>20}")
    for m in _MODES:
        s = speed.get(m)
        if s is None:
            print(f"{labels[m]:<36}{'n/a':>14}{'n/a':>20}")
        else:
            print(
                f"{labels[m]:<36}{s['narratives_per_s']:>14,.0f}"
                f"{s['narratives_per_s_with_loading']:>20,.0f}"
            )
    rate = speed["scrub"]["narratives_per_s"]
    print(
        f"ratio scrub / known terms only: {rate / speed['terms']['narratives_per_s']:.3f} "
        "(the raw cost of the rules)"
    )
    print(
        f"scrub narratives/s: {rate:,.0f} (target >= {SPEED_TARGET:,.0f} without NER) "
        f"{_verdict(rate, SPEED_TARGET)}"
    )


if __name__ == "__main__":
    main()
