"""Reports: the statistics of one policy as a self-contained HTML page (tables and
inline SVG charts), one CSV, or an XLSX workbook.

Invariants:

* **Only statistics.** A report is built from :class:`~vault.tables.Statistics`
  computed under a policy, so the policy's filters, consent and threshold have
  already applied; nothing here sees a record. A suppressed count holds no value
  in a table, so no renderer can show one: it shows :data:`MARK`.
* **Labels only.** What a report prints is dimension labels (allegation codes, site
  ids, months, statuses), counts, the policy's name, hash and threshold, and the
  reasons things were left out; every one is HTML-escaped in the page, and a label
  a spreadsheet would read as a formula is written as text.
* **Self-contained.** The page loads nothing (a Content-Security-Policy forbids it)
  and runs no script; charts are inline SVG drawn by matplotlib without pyplot's
  global state, text kept as text.

Nothing here reads the vault: :func:`vault.stats.report` gathers the statistics.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from vault import i18n
from vault.tables import ALL_LABEL, Cell, Statistics, Table

__all__ = [
    "LANGUAGES",
    "MARK",
    "VIEWS",
    "Report",
    "View",
    "render_csv",
    "render_html",
    "render_xlsx",
    "translator",
]

MARK: Final = "x"  # how a suppressed count shows, everywhere
# The breakdowns a report shows, in order: bars by allegation and by site (the
# site view also says where findings stand), the cross table, the timeline.
VIEWS: Final[tuple[tuple[str, ...], ...]] = (
    ("allegation",),
    ("site",),
    ("allegation", "site"),
    ("month",),
)
_TITLES: Final = {
    ("allegation",): "By allegation",
    ("site",): "By site",
    ("allegation", "site"): "By allegation and site",
    ("month",): "By month",
}
_FORMULA: Final = ("=", "+", "-", "@", "\t", "\r")
LANGUAGES: Final = i18n.LANGUAGES
Gettext = i18n.Gettext


def translator(lang: str | None) -> Gettext:
    """The report's labels in ``lang`` (``en``, ``fr``, ``es``; None: the locale's
    language, see :mod:`vault.i18n`). Only the report's own words translate, never a
    label or a reason."""
    return i18n.translations(i18n.chosen(lang)).gettext


@dataclass(frozen=True)
class View:
    """One breakdown: its statistics (None if the policy refuses it outright) and
    why counts of it are missing (measures the policy does not allow by it)."""

    by: tuple[str, ...]
    stats: Statistics | None
    refused: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return _TITLES.get(self.by, " × ".join(self.by))


def _title(table: Table, _: Gettext) -> str:
    what = _(table.measure)
    if not table.by:
        return what
    return _("{what} by {dims}").format(what=what, dims=" × ".join(_(d) for d in table.by))


@dataclass(frozen=True)
class Report:
    """The statistics of one policy for sharing (see :func:`vault.stats.report`)."""

    policy: str
    policy_sha256: str
    threshold: int
    as_of: dt.date
    views: tuple[View, ...]
    left_out: dict[str, int] = field(default_factory=dict)

    def tables(self) -> Iterator[tuple[str, Table]]:
        """Every table once, with a name: the measures of each view, then where
        findings stand (by status and site, overdue plans)."""
        for view in self.views:
            if view.stats is None:
                continue
            for table in view.stats.tables:
                yield table.title, table
            rem = view.stats.remediation
            if rem is not None and view.by == ("site",):
                yield "findings by site × status", rem.by_status
                yield f"overdue findings by site on {rem.as_of.isoformat()}", rem.overdue


def _shown(cell: Cell) -> str:
    return MARK if cell.value is None else f"{cell.value:,}"


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


# HTML ------------------------------------------------------------------------------

_CSS: Final = """
body{font:15px/1.45 system-ui,sans-serif;color:#1b1b1b;max-width:62rem;margin:2rem auto;
padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ccc}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}
dl.meta dt{font-weight:600}code{font-size:.85em;word-break:break-all}
table{border-collapse:collapse;margin:.8rem 0 1.4rem}caption{text-align:left;font-weight:600;
padding-bottom:.3rem;white-space:nowrap}
th,td{border:1px solid #bbb;padding:.2rem .55rem}td{text-align:right;font-variant-numeric:
tabular-nums}th{background:#f1f1f1;text-align:left}tr.total td,td.total{font-weight:600}
td.suppressed{color:#a33;background:#fbeeee;text-align:center}
.note{color:#555;font-size:.9em}figure{margin:1rem 0}svg{max-width:100%;height:auto}
"""


def _html_table(table: Table, caption: str, _: Gettext) -> Iterator[str]:
    yield f"<table><caption>{_esc(caption)}</caption>"
    if not table.by:
        yield f"<tr><th>{_esc(_(table.measure))}</th>{_td(table.total)}</tr></table>"
        return
    columns = [" / ".join(c) for c in table.columns] if table.column_dims else [_(table.measure)]
    head = [
        *(_(d) for d in table.row_dims),
        *columns,
        *([_("total")] if table.row_totals is not None else []),
    ]
    yield "<thead><tr>" + "".join(f"<th scope='col'>{_esc(h)}</th>" for h in head)
    yield "</tr></thead><tbody>"
    for i, (row, cells) in enumerate(zip(table.rows, table.cells, strict=True)):
        line = "".join(f"<th scope='row'>{_esc(k)}</th>" for k in row)
        line += "".join(_td(c) for c in cells)
        if table.row_totals is not None:
            line += _td(table.row_totals[i], "total")
        yield f"<tr>{line}</tr>"
    if table.column_totals is not None:
        line = f"<th scope='row'>{ALL_LABEL}</th>" + "<th></th>" * (len(table.row_dims) - 1)
        line += "".join(_td(c, "total") for c in table.column_totals) + _td(table.total, "total")
        yield f"<tr class='total'>{line}</tr>"
    elif table.by:
        yield f"<tr class='total'><th scope='row'>{ALL_LABEL}</th>{_td(table.total)}</tr>"
    yield "</tbody></table>"
    if table.repeats:
        note = _("One record may count under several {dims} values, so totals add up mentions.")
        dims = ", ".join(_(d) for d in table.repeats)
        yield f"<p class='note'>{_esc(note.format(dims=dims))}</p>"


def _td(cell: Cell, css: str = "") -> str:
    if cell.value is None:
        return f"<td class='suppressed {css}' title='suppressed'>{MARK}</td>"
    return f"<td class='{css}'>{cell.value:,}</td>" if css else f"<td>{cell.value:,}</td>"


def _svg(figure: Any) -> str:
    """A matplotlib figure as an inline ``<svg>`` element (no XML prolog, no
    metadata, text as text)."""
    buf = io.StringIO()
    figure.savefig(
        buf,
        format="svg",
        bbox_inches="tight",
        metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
    )
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _figure(width: float, height: float) -> Any:
    # Imported here: matplotlib is loaded only by a report, not by every command.
    from matplotlib.figure import Figure  # noqa: PLC0415 - loaded by a report only

    return Figure(figsize=(width, height), layout="constrained")


def _one_dim_chart(stats: Statistics, timeline: bool, _: Gettext) -> str | None:
    """Grouped bars (or lines, for a timeline) of every measure of a one-dimension
    view; suppressed counts drawn as a mark on the axis, not as a value."""
    tables = [t for t in stats.tables if len(t.by) == 1 and t.rows]
    if not tables:
        return None
    labels = sorted({r[0] for t in tables for r in t.rows})
    figure = _figure(max(5.0, 0.6 * len(labels) * len(tables) + 2), 3.2)
    ax = figure.add_subplot()
    x = np.arange(len(labels))
    width = 0.8 / len(tables)
    for n, table in enumerate(tables):
        value = {r[0]: row[0].value for r, row in zip(table.rows, table.cells, strict=True)}
        ys = [value.get(label, 0) for label in labels]
        shown = np.array([np.nan if y is None else y for y in ys], dtype=float)
        if timeline:
            ax.plot(x, shown, marker="o", label=_(table.measure))
            hidden = [float(at) for at in x]
        else:
            pos = x - 0.4 + width * (n + 0.5)
            ax.bar(pos, np.nan_to_num(shown), width, label=_(table.measure))
            hidden = [float(at) for at in pos]
        for at, y in zip(hidden, ys, strict=True):
            if y is None:
                ax.annotate(MARK, (at, 0), ha="center", va="bottom", color="#a33")
    ax.set_xticks(x, labels, rotation=30 if len(labels) > 6 else 0, ha="right")
    ax.set_ylabel(_("count"))
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


def _remediation_chart(table: Table, _: Gettext) -> str | None:
    """Findings by site, stacked by status; a suppressed count is left out of its
    bar and marked at the bar's end."""
    if len(table.by) != 2 or not table.rows:
        return None
    # Every site, then all of them: the column totals often survive where a
    # site's own counts are suppressed.
    sites = [r[0] for r in table.rows]
    grid = [list(row) for row in table.cells]
    if table.column_totals is not None:
        sites.append(ALL_LABEL)
        grid.append(list(table.column_totals))
    figure = _figure(7.0, 0.45 * len(sites) + 1.4)
    ax = figure.add_subplot()
    left = [0.0] * len(sites)
    marks = [0] * len(sites)
    for j, col in enumerate(table.columns):
        widths = []
        for i in range(len(sites)):
            v = grid[i][j].value
            marks[i] += v is None
            widths.append(float(v or 0))
        ax.barh(sites, widths, left=left, label=col[0])
        left = [a + b for a, b in zip(left, widths, strict=True)]
    for i, n in enumerate(marks):
        if n:
            ax.annotate(f" +{MARK}", (left[i], i), va="center", color="#a33")
    ax.set_xlim(left=0, right=max(1.0, *left) * 1.1)
    ax.set_xlabel(_("findings"))
    ax.invert_yaxis()
    ax.legend(
        frameon=False,
        ncols=min(4, len(table.columns)),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.25),
    )
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


def _figure_html(svg: str | None, caption: str) -> Iterator[str]:
    if svg is not None:
        yield f"<figure role='img' aria-label='{_esc(caption)}'>{svg}"
        yield f"<figcaption class='note'>{_esc(caption)}</figcaption></figure>"


def render_html(report: Report, lang: str | None = "en") -> str:
    """The report as one HTML page that loads nothing and runs no script, its
    words in ``lang`` (see :func:`translator`)."""
    _ = translator(lang)
    from matplotlib import rc_context  # noqa: PLC0415 - loaded by a report only

    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "evault", "text.parse_math": False}):
        return "\n".join(_page(report, _))


def _page(report: Report, _: Gettext) -> Iterator[str]:
    lang = _("en")
    yield f"<!DOCTYPE html><html lang='{_esc(lang)}'><head><meta charset='utf-8'>"
    yield (
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\">"
    )
    title = _("Monitoring report")
    yield f"<title>{_esc(title)} — {_esc(report.policy)}</title><style>{_CSS}</style>"
    yield f"</head><body><h1>{_esc(title)}</h1>"
    people = _("{n} people").format(n=report.threshold)
    meta = [
        (_("Policy"), _esc(report.policy)),
        (_("Policy SHA-256"), f"<code>{_esc(report.policy_sha256)}</code>"),
        (_("Suppression threshold"), _esc(people)),
        (_("As of"), report.as_of.isoformat()),
    ]
    yield "<dl class='meta'>" + "".join(f"<dt>{_esc(k)}</dt><dd>{v}</dd>" for k, v in meta)
    yield "</dl>"
    intro = _(
        "Only records this policy would export are counted, and a worker counts once "
        "however many testimonies they gave. A count of fewer than {n} people, and any "
        "count that would give one back from the totals, is suppressed and shown as {mark}."
    )
    yield f"<p>{_esc(intro.format(n=report.threshold, mark=MARK))}</p>"
    yield from _left_out(report, _)
    for view in report.views:
        yield f"<h2>{_esc(_(view.title))}</h2>"
        for reason in view.refused:
            note = _("Not shown: {reason}.").format(reason=reason)
            yield f"<p class='note'>{_esc(note)}</p>"
        if view.stats is None:
            continue
        if len(view.by) == 1:
            timeline = view.by == ("month",)
            kind = _("Timeline of {what} by {dim}") if timeline else _("Bars of {what} by {dim}")
            caption = kind.format(
                what=", ".join(_(t.measure) for t in view.stats.tables), dim=_(view.by[0])
            )
            caption += " ({mark}: {word})".format(mark=MARK, word=_("suppressed"))
            yield from _figure_html(_one_dim_chart(view.stats, timeline, _), caption)
        for table in view.stats.tables:
            yield from _html_table(table, _title(table, _).capitalize(), _)
        rem = view.stats.remediation
        if rem is not None and view.by == ("site",):
            yield from _remediation(rem.by_status, rem.overdue, rem.timing, rem.as_of, _)
    yield "</body></html>"


def _left_out(report: Report, _: Gettext) -> Iterator[str]:
    heading = _("What was left out, and why")
    yield f"<h2>{_esc(heading)}</h2><ul>"
    for why, n in sorted(report.left_out.items()):
        line = _("{n} records: {why} (the policy would not export them)").format(
            n=f"{n:,}", why=why
        )
        yield f"<li>{_esc(line)}</li>"
    if not report.left_out:
        none = _("No record was held back by the policy filters or consent.")
        yield f"<li>{_esc(none)}</li>"
    for view in report.views:
        for reason in view.refused:
            yield f"<li>{_esc(_(view.title))}: {_esc(reason)}</li>"
    hidden = sum(t.suppressed for _name, t in report.tables())
    line = _("{n} counts suppressed ({mark}) across the tables below.")
    yield f"<li>{_esc(line.format(n=f'{hidden:,}', mark=MARK))}</li></ul>"


def _remediation(
    by_status: Table, overdue: Table, timing: Sequence[Any], as_of: dt.date, _: Gettext
) -> Iterator[str]:
    heading = _("Remediation progress")
    yield f"<h2>{_esc(heading)}</h2>"
    caption = _("Findings by site and status") + " ({mark}: {word})".format(
        mark=MARK, word=_("suppressed")
    )
    yield from _figure_html(_remediation_chart(by_status, _), caption)
    yield from _html_table(by_status, _("Findings by site × status"), _)
    due = _("Findings past their plan's due date on {day}").format(day=as_of.isoformat())
    yield from _html_table(overdue, due, _)
    days = _("Days from audit to remediation")
    yield f"<table><caption>{_esc(days)}</caption><thead><tr>"
    for head in (_("site"), _("median"), _("90th percentile")):
        yield f"<th>{_esc(head)}</th>"
    yield "</tr></thead><tbody>"
    for t in timing:
        key = " / ".join(t.key) if t.key else ALL_LABEL
        if t.median_days is None or t.p90_days is None:
            row = _td(Cell(None)) * 2
        else:
            row = f"<td>{t.median_days:g}</td><td>{t.p90_days:g}</td>"
        yield f"<tr><th scope='row'>{_esc(key)}</th>{row}</tr>"
    yield "</tbody></table>"


# Spreadsheets ----------------------------------------------------------------------


def _text_cell(label: str) -> str:
    """A label a spreadsheet will not run as a formula."""
    return f"'{label}" if label.startswith(_FORMULA) else label


def render_csv(report: Report) -> str:
    """Every count of the report as one CSV: a ``table`` column names the table,
    one column per dimension (``(all)`` for a total), ``value`` (empty when
    suppressed) and ``suppressed``."""
    tables = list(report.tables())
    dims: list[str] = []
    for _name, table in tables:
        dims += [d for d in table.by if d not in dims]
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["table", *dims, "value", "suppressed"])
    for name, table in tables:
        for key, cell in table.long():
            labels = dict(zip(table.by, key, strict=True))
            out.writerow(
                [
                    name,
                    *(_text_cell(labels.get(d, "")) for d in dims),
                    "" if cell.value is None else cell.value,
                    str(cell.suppressed).lower(),
                ]
            )
    return buf.getvalue()


def _sheet_name(name: str, taken: set[str]) -> str:
    base = "".join(" " if ch in "[]:*?/\\" else ch for ch in name.replace(" × ", "-"))[:31]
    title, n = base, 2
    while title.lower() in taken:
        title = f"{base[:28]}~{n}"
        n += 1
    taken.add(title.lower())
    return title


def render_xlsx(report: Report) -> bytes:
    """The report as a workbook: an ``about`` sheet (policy, hash, threshold, what
    was left out), then one sheet per table laid out as in the page, a suppressed
    count written as the text ``x``."""
    from openpyxl import Workbook  # noqa: PLC0415 - loaded by a report only

    book = Workbook()
    about = book.active
    about.title = "about"
    rows: list[list[Any]] = [
        ["policy", report.policy],
        ["policy sha256", report.policy_sha256],
        ["suppression threshold (people)", report.threshold],
        ["as of", report.as_of.isoformat()],
        ["suppressed counts show as", MARK],
    ]
    rows += [[f"left out: {why}", n] for why, n in sorted(report.left_out.items())]
    rows += [[f"not shown: {v.title}", r] for v in report.views for r in v.refused]
    for row in rows:
        about.append([_text_cell(str(c)) if isinstance(c, str) else c for c in row])
    taken = {"about"}
    for name, table in report.tables():
        sheet = book.create_sheet(_sheet_name(name, taken))
        for line in _grid(table):
            sheet.append([_text_cell(c) if isinstance(c, str) else c for c in line])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _grid(table: Table) -> Iterator[list[str | int]]:
    def value(cell: Cell) -> str | int:
        return MARK if cell.value is None else cell.value

    if not table.by:
        yield [table.measure, value(table.total)]
        return
    columns = [" / ".join(c) for c in table.columns] if table.column_dims else [table.measure]
    yield [*table.row_dims, *columns, *(["total"] if table.row_totals is not None else [])]
    for i, (row, cells) in enumerate(zip(table.rows, table.cells, strict=True)):
        line: list[str | int] = [*row, *(value(c) for c in cells)]
        if table.row_totals is not None:
            line.append(value(table.row_totals[i]))
        yield line
    pad: list[str | int] = [""] * (len(table.row_dims) - 1)
    if table.column_totals is not None:
        yield [ALL_LABEL, *pad, *(value(c) for c in table.column_totals), value(table.total)]
    else:
        yield [ALL_LABEL, *pad, value(table.total)]
