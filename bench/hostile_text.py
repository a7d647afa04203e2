"""Scrubbing hostile free text: the longest field the record contract allows, built to
make pattern matching slow (long runs of digits, of address characters, of
capitalised words, of separators), against one linear pass over the same text.

A pattern that backtracks shows up as a ratio that grows with the size; the vault's
scrubber should stay within a small constant of the linear pass at every size.

    python bench/hostile_text.py [--size 200000] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import time

from vault.schema import LONG_TEXT
from vault.scrub import Scrubber, site_terms_from

_WORDS = re.compile(r"\w+")
CASES = {
    "digits": "1",
    "digits and dashes": "12-",
    "digits and dots": "1.",
    "digits and spaces": "1 ",
    "address characters": "a_",
    "dotted words": "a.",
    "at signs": "a@",
    "capitalised words": "Ab ",
    "names": "Nguyen ",
    "titles and names": "Mr Ab Cd ",
    "number words": "zero one ",
    "links": "http://a/",
    "Thai": "ก",
    "Chinese": "王",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=LONG_TEXT, help="characters per text")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    scrubber = Scrubber()
    scrubber.load_site(
        site_terms_from([{"worker": {"name": "Rose Flores", "birth_year": 1990}}], "VN")
    )
    rows = []
    for name, unit in CASES.items():
        text = (unit * (args.size // len(unit) + 1))[: args.size]
        t0 = time.perf_counter()
        sum(1 for _ in _WORDS.finditer(text))
        base = time.perf_counter() - t0
        t0 = time.perf_counter()
        scrubber.analyse(text)
        took = time.perf_counter() - t0
        rows.append({"case": name, "chars": len(text), "scrub_s": took, "ratio": took / base})
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"{'case':<20} {'chars':>8} {'scrub s':>9} {'x linear pass':>14}")
    for r in rows:
        print(f"{r['case']:<20} {r['chars']:>8,} {r['scrub_s']:>9.3f} {r['ratio']:>14.0f}")


if __name__ == "__main__":
    main()
