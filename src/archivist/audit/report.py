"""The audit as text: a terminal table, JSON, Markdown for merge requests, one HTML file.

Every renderer takes an ``Audit`` and returns a string; nothing here reads git. The HTML
report is one self-contained file: inline styles, no scripts, no fonts or images to fetch,
and a Content-Security-Policy that forbids any fetch, so it opens the same offline, in a
mail attachment or in an evidence archive years later.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from archivist import __version__
from archivist.audit.judge import HOLD_KINDS
from archivist.audit.model import FINDING_KINDS, Audit, AuditEvent, DisposedRecord, Figures, Finding
from archivist.globs import glob_match
from archivist.output import human_bytes, paint, use_color

if TYPE_CHECKING:
    from archivist.retention.forecast import Forecast

FORMATS = ("table", "json", "markdown", "html")
_EXTENSIONS = {".json": "json", ".md": "markdown", ".markdown": "markdown", ".html": "html",
               ".htm": "html", ".txt": "table"}


def format_for(path: str) -> str | None:
    """The format a file name asks for (``report.html`` -> html), None when it does not say."""
    lower = path.lower()
    for ext, fmt in _EXTENSIONS.items():
        if lower.endswith(ext):
            return fmt
    return None


def _counts(values: Mapping[str, int] | None, fmt: Callable[[int], str] = str) -> str:
    if values is None:
        return "not reported"
    if not values:
        return "none"
    return ", ".join(f"{k} {fmt(v)}" for k, v in values.items())


_BYTES_SOURCE = {  # what the bytes-per-remote figure rests on
    "ledger": " (from the ledger, not looked at)",
    "found": " (found on the remotes)",
    "sampled": " (from the ledger, sampled objects read back)",
}


def figure_rows(f: Figures) -> list[tuple[str, str]]:
    """(label, value) pairs: the same figures, in the same order, in every format."""
    if f.artifacts:
        rate = f"{f.compliant} of {f.artifacts} comply ({f.compliance_rate:.1%})"  # type: ignore[str-format]
    else:
        rate = "no artifacts"
    if f.releases is None:
        releases = "not reported"
    else:
        releases = (f"{f.releases} release tag(s): {f.releases_signed} signed, "
                    f"{f.releases_verified} verified")
    if f.oldest_overdue:
        o = f.oldest_overdue
        oldest = f"{o['artifact']} {o['version'][:16]}: {o['action']} due {o['due']}"
    elif f.overdue is None:
        oldest = "not reported"
    else:
        oldest = "none"
    return [
        ("Compliance", rate),
        ("Artifacts by state", _counts(f.artifacts_by_state)),
        ("Versions by state", _counts(f.versions_by_state)),
        ("Bytes per remote" + _BYTES_SOURCE.get(f.bytes_source or "", ""),
         _counts(f.bytes_by_remote, human_bytes)),
        ("Bytes per retention class", _counts(f.bytes_by_class, human_bytes)),
        ("Releases", releases),
        ("Oldest overdue", oldest),
        ("History", f"{f.commits} commit(s), {f.events} event(s), {f.findings} finding(s)"),
    ]


def _title(audit: Audit) -> str:
    scope = f" of {audit.artifact}" if audit.artifact else ""
    since = f", since {audit.since}" if audit.since else ""
    return (f"archivist audit{scope}: {audit.rev} at {audit.head[:10]}, as of "
            f"{audit.as_of}{since}")


def _about(f: Finding) -> str:
    """What a finding is about, short enough for a table cell."""
    if f.commit and f.subject == f.commit:
        return f.subject[:10]
    return f.subject if len(f.subject) <= 60 else f.subject[:59] + "…"


def signature_text(e: AuditEvent) -> str:
    """``carl@example.com (compliance), authorship`` or why there is no signer; ``-`` when
    the commit's signature was not read."""
    s = e.signed
    if s is None or s.status is None:
        return "-"
    if s.principal is None:
        what = {"unsigned": "unsigned", "bad": "bad signature"}.get(
            s.status.value, f"unknown key {s.signer or '?'}")
    else:
        what = s.principal + (f" ({', '.join(s.roles)})" if s.roles else " (no role)")
    return what + (f", {s.meaning}" if s.meaning else "")


def _event_row(e: AuditEvent, signed: bool = False) -> list[str]:
    row = [e.date.date().isoformat(), e.commit[:10], e.author, e.kind, e.artifact or "",
           (e.version or "")[:16]]
    if signed:
        row.append(signature_text(e))
    return [*row, e.summary]


_EVENT_HEADERS = ["DATE", "COMMIT", "AUTHOR", "EVENT", "ARTIFACT", "VERSION", "WHAT"]
_SIGNED_HEADERS = [*_EVENT_HEADERS[:-1], "SIGNED BY (ROLE), MEANING", "WHAT"]


def disposed_rows(d: DisposedRecord) -> list[tuple[str, str]]:
    """(label, value) lines of a disposed version's record, the same in every format."""
    what = [f"{d.artifact} md5 {d.version.removeprefix('md5:')}"]
    if d.size is not None:
        what.append(human_bytes(d.size))
    if d.files is not None:
        what.append(f"{d.files} file(s)")
    rows = [("what", ", ".join(what))]
    if d.release:
        tag = d.release.get("tag")
        if d.release.get("signed"):
            rows.append(("release", f"{tag}, signed: subject {d.release.get('digest')}, "
                                    f"bundle {d.release.get('bundle')} "
                                    f"({d.release.get('bundle_sha256') or 'bundle gone'})"))
        else:
            rows.append(("release", f"{tag} (unsigned)"))
    rows.append(("why", d.why()))
    rows.append(("approvals", ", ".join(a[:10] for a in d.approvals) if d.approvals
                 else "none recorded"))
    rows.append(("remains", d.remains()))
    return rows


# ---------------------------------------------------------------- table


def render_table(audit: Audit, *, stream: Any = None) -> str:
    """The terminal report: figures, events, findings with their fixes, notes."""
    color = use_color(stream)

    def bold(text: str) -> str:
        return paint(text, "bold", stream) if color else text

    lines = [bold(_title(audit)), ""]
    rows = figure_rows(audit.figures)
    width = max(len(label) for label, _ in rows)
    lines += [f"  {label.ljust(width)}  {value}" for label, value in rows]
    lines += ["", bold(f"EVENTS ({len(audit.events)})")]
    if audit.events:
        headers = _SIGNED_HEADERS if audit.authority else _EVENT_HEADERS
        lines += _aligned([headers] + [_event_row(e, audit.authority) for e in audit.events])
    else:
        lines.append("  none")
    lines += ["", bold(f"FINDINGS ({len(audit.findings)})")]
    if not audit.findings:
        lines.append("  none: everything audited is in policy")
    for f in audit.findings:
        head = f"[{f.kind}] {_about(f)}: {f.problem}"
        lines.append(paint(head, "red", stream) if color else head)
        meta = []
        if f.author:
            meta.append(f"by {f.author}")
        if f.date:
            meta.append(f"on {f.date.date()}")
        if f.rule:
            meta.append(f"signer {f.signer or 'none'}; rule {f.rule}")
        if meta:
            lines.append("  " + " ".join(meta))
        lines.append(f"  fix: {f.fix}")
    if audit.disposed:
        lines += ["", bold(f"DISPOSED ({len(audit.disposed)})")]
        for d in audit.disposed:
            lines.append(f"{d.artifact} {d.version[:16]}: disposed {d.date.date()} in "
                         f"{d.commit[:10]} by {d.actor}")
            lines += [f"  {label}: {value}" for label, value in disposed_rows(d)]
    if audit.notes:
        lines += ["", bold("NOT AUDITED")]
        lines += [f"  {n}" for n in audit.notes]
    return "\n".join(lines) + "\n"


def _aligned(cells: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    out = []
    for row in cells:
        out.append("  ".join(c.ljust(widths[i]) if i < len(row) - 1 else c
                             for i, c in enumerate(row)).rstrip())
    return out


# ---------------------------------------------------------------- json


def render_json(audit: Audit) -> str:
    """One JSON document: header fields indented, then one line per event and finding.

    A line per item keeps a report of 10,000 events greppable and diffable, and lets the
    C encoder do the work (indenting every nested key is five times slower).
    """
    data = {"archivist": __version__, **audit.as_dict(), "finding_kinds": FINDING_KINDS}
    lines = ["{"]
    keys = list(data)
    for n, key in enumerate(keys):
        value = data[key]
        comma = "," if n < len(keys) - 1 else ""
        name = json.dumps(key)
        if key in ("events", "findings", "disposed", "forecast") and value:
            items = ",\n".join("    " + json.dumps(v, ensure_ascii=False) for v in value)
            lines.append(f"  {name}: [\n{items}\n  ]{comma}")
        else:
            text = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
            lines.append(f"  {name}: {text}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- markdown

_MD_EVENTS_OPEN = 30  # longer event lists fold into <details>, so a merge request stays readable


def _md(text: Any) -> str:
    """A table cell: pipes escaped, one line, HTML-significant characters made inert."""
    value = "" if text is None else str(text)
    value = html.escape(value, quote=False).replace("|", "\\|")
    return " ".join(value.split())


def _md_code(text: str) -> str:
    ticks = "``" if "`" in text else "`"
    pad = " " if ticks == "``" else ""
    return f"{ticks}{pad}{text.replace('|', chr(92) + '|')}{pad}{ticks}"


def render_markdown(audit: Audit) -> str:
    """Tables a merge request or a CI job summary can show."""
    out = [f"## {_md(_title(audit))}", ""]
    verdict = ("**No findings**: everything audited is in policy." if audit.ok else
               f"**{len(audit.findings)} finding(s)**: "
               + ", ".join(f"{n} {k}" for k, n in _kind_counts(audit.findings).items()) + ".")
    out += [verdict, "", "| Figure | Value |", "| --- | --- |"]
    out += [f"| {_md(k)} | {_md(v)} |" for k, v in figure_rows(audit.figures)]
    out += ["", f"### Findings ({len(audit.findings)})", ""]
    if audit.findings:
        out += ["| Kind | About | Problem | By | Date | Fix |",
                "| --- | --- | --- | --- | --- | --- |"]
        for f in audit.findings:
            rule = f" (signer {f.signer or 'none'}; rule {f.rule})" if f.rule else ""
            out.append(f"| {_md(f.kind)} | {_md(_about(f))} | {_md(f.problem + rule)} | "
                       f"{_md(f.author or '')} | {f.date.date() if f.date else ''} | "
                       f"{_md_code(f.fix)} |")
    else:
        out.append("None.")
    out += ["", f"### Events ({len(audit.events)})", ""]
    if audit.events:
        signed = audit.authority
        table = ["| Date | Commit | Author | Event | Artifact | Version | "
                 + ("Signed by (role), meaning | " if signed else "") + "What |",
                 "| --- | --- | --- | --- | --- | --- | " + ("--- | " if signed else "")
                 + "--- |"]
        for e in audit.events:
            cell = f"{_md(signature_text(e))} | " if signed else ""
            table.append(f"| {e.date.date()} | `{e.commit[:10]}` | {_md(e.author)} | "
                         f"{_md(e.kind)} | {_md(e.artifact)} | `{_md((e.version or '')[:16])}` "
                         f"| {cell}{_md(e.summary)} |")
        if len(audit.events) > _MD_EVENTS_OPEN:
            out += ["<details><summary>Show all events</summary>", "", *table, "",
                    "</details>"]
        else:
            out += table
    else:
        out.append("None.")
    if audit.disposed:
        out += ["", f"### Disposed ({len(audit.disposed)})", "",
                "| Artifact | Version | Disposed | Commit | What | Why | Remains |",
                "| --- | --- | --- | --- | --- | --- | --- |"]
        for d in audit.disposed:
            rows = dict(disposed_rows(d))
            out.append(f"| {_md(d.artifact)} | `{_md(d.version[:16])}` | {d.date.date()} | "
                       f"`{d.commit[:10]}` | {_md(rows['what'])} | {_md(rows['why'])} | "
                       f"{_md(rows['remains'])} |")
    if audit.notes:
        out += ["", "### Not audited", ""]
        out += [f"- {_md(n)}" for n in audit.notes]
    return "\n".join(out) + "\n"


def _kind_counts(findings: Sequence[Finding]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.kind] = counts.get(f.kind, 0) + 1
    return counts


# ---------------------------------------------------------------- html

_CSS = """
:root { --fg:#1d232a; --muted:#5b6773; --line:#d8dee4; --bad:#b42318; --bad-bg:#fef3f2;
  --ok:#067647; --ok-bg:#ecfdf3; --card:#f6f8fa; --accent:#175cd3; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); margin: 0 auto; max-width: 1180px; padding: 24px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 10px;
  border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 0; font-family: ui-monospace, Menlo, Consolas, monospace; }
.muted { color: var(--muted); } code, .mono { font-family: ui-monospace, Menlo, Consolas,
  monospace; font-size: 12.5px; }
.verdict { padding: 10px 14px; border-radius: 6px; margin: 14px 0; font-weight: 600; }
.verdict.bad { background: var(--bad-bg); color: var(--bad); }
.verdict.ok { background: var(--ok-bg); color: var(--ok); }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr));
  gap: 10px; }
.figure { background: var(--card); border: 1px solid var(--line); border-radius: 6px;
  padding: 10px 12px; } .figure .label { color: var(--muted); font-size: 12px;
  text-transform: uppercase; letter-spacing: .03em; } .figure .value { font-size: 15px; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left;
  vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line); }
th { font-size: 12px; color: var(--muted); text-transform: uppercase; }
td.fix { min-width: 240px; } td.fix code { white-space: pre-wrap; overflow-wrap: anywhere; }
td.date { white-space: nowrap; }
.kind { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: 12px;
  font-weight: 600; background: #eef4ff; color: var(--accent); white-space: nowrap; }
.finding .kind { background: var(--bad-bg); color: var(--bad); }
.kind.archive, .kind.dispose, .kind.restore, .kind.hold, .kind.release {
  background: #f4ebff; color: #6941c6; }
.artifact { border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px;
  margin: 12px 0; } .artifact.flagged { border-color: var(--bad); }
ol.timeline { list-style: none; margin: 10px 0 0; padding: 0 0 0 18px;
  border-left: 2px solid var(--line); }
ol.timeline li { position: relative; margin: 0 0 10px; padding-left: 8px; }
ol.timeline li::before { content: ""; position: absolute; left: -25px; top: 5px;
  width: 10px; height: 10px; border-radius: 50%; background: var(--accent); }
ol.timeline li.by-archivist::before { background: #6941c6; }
.when { color: var(--muted); font-size: 12px; margin-right: 6px; }
ul.notes li { color: var(--muted); }
svg.chart { display: block; margin: 10px 0 4px; background: #fcfcfd;
  border: 1px solid var(--line); border-radius: 4px; }
.legend { display: flex; flex-wrap: wrap; gap: 12px; font-size: 12px; color: var(--muted);
  margin: 0 0 6px; } .legend i { display: inline-block; width: 12px; height: 10px;
  border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
.legend i.future { background: #eaecf0; border: 1px dashed #667085; }
section.disposed table th { width: 110px; text-transform: none; font-size: 13px; }
footer { margin-top: 30px; color: var(--muted); font-size: 12px; }
@media print { body { padding: 0; } .artifact { break-inside: avoid; } }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _html_event(e: AuditEvent) -> str:
    who = f"{_e(e.author)} &lt;{_e(e.email)}&gt;" if e.email else _e(e.author)
    if e.signed is not None:
        who += f' · <span class="signed">signed: {_e(signature_text(e))}</span>'

    version = f' <code title="{_e(e.version)}">{_e((e.version or "")[:16])}</code>' \
        if e.version else ""
    cls = ' class="by-archivist"' if e.by_archivist else ""
    return (f'<li{cls} data-kind="{_e(e.kind)}"><span class="when">{_e(e.date.date())}</span>'
            f'<span class="kind {_e(e.kind)}">{_e(e.kind)}</span>{version} '
            f"{_e(e.summary)}<br><span class=\"muted\">{who} · commit "
            f'<code title="{_e(e.commit)}">{_e(e.commit[:10])}</code></span></li>')


# ---------------------------------------------------------------- timeline chart (SVG)

# One colour per state, shared by the chart and its legend.
STATE_COLORS: dict[str, str] = {
    "current": "#175cd3", "active": "#12b76a", "restored": "#06aed4",
    "archived": "#f79009", "held": "#6941c6", "in-use": "#0e9384", "disposed": "#b42318",
}
_W, _LEFT, _RIGHT, _ROW, _TOP, _AXIS = 1000, 150, 985, 20, 26, 24
_RELEASE_KINDS = ("release", "registration")


def _holds_for(path: str, events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """The hold events of the policy that bear on ``path`` (its own, a folder's, a glob's)."""
    out = []
    for e in events:
        if e.kind not in HOLD_KINDS or not e.artifact:
            continue
        held = e.artifact.rstrip("/")
        if held == path or path.startswith(held + "/") or glob_match(held, path):
            out.append(e)
    return out


def _date_of(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def svg_timeline(path: str, rows: Sequence[Forecast], events: Sequence[AuditEvent],
                 as_of: dt.date) -> str:
    """One artifact's versions across time as inline SVG: a row per version, one bar per
    phase coloured by state (paler and dashed where forecast), a diamond where a release
    pinned it, the holds that bear on it in the top lane, and a line at ``as_of``.
    Nothing external: the chart is part of the page."""
    rows = sorted(rows, key=lambda f: (f.began or f.superseded or dt.date.max, f.version))
    releases = [e for e in events if e.kind in _RELEASE_KINDS and e.version]
    holds = _holds_for(path, events)
    days: list[dt.date] = [as_of]
    for f in rows:
        for ph in f.phases:
            days.append(ph.start)
            if ph.end:
                days.append(ph.end)
    days += [e.date.date() for e in releases + holds]
    days += [d for e in holds if (d := _date_of(e.details.get("until")))]
    lo, hi = min(days), max(days)
    if (hi - lo).days < 30:
        hi = lo + dt.timedelta(days=30)
    pad = dt.timedelta(days=max(1, (hi - lo).days // 30))
    lo, hi = lo - pad, hi + pad
    span = (hi - lo).days

    def x(day: dt.date) -> float:
        return round(_LEFT + (day - lo).days / span * (_RIGHT - _LEFT), 1)

    height = _TOP + _ROW * len(rows) + _AXIS
    out = [f'<svg class="chart" role="img" viewBox="0 0 {_W} {height}" width="100%" '
           f'preserveAspectRatio="xMinYMin meet" data-artifact="{_e(path)}">',
           f"<title>{_e(path)}: {len(rows)} version(s) across time, as of {_e(as_of)}"
           "</title>"]
    # axis: a tick a year (a quarter on short spans)
    ticks: list[dt.date] = []
    if span > 3 * 365:
        ticks = [dt.date(y, 1, 1) for y in range(lo.year + 1, hi.year + 1)]
        step = max(1, len(ticks) // 12)
        ticks = ticks[::step]
    else:
        month = dt.date(lo.year, lo.month, 1)
        while month <= hi:
            if month > lo and month.month in (1, 4, 7, 10):
                ticks.append(month)
            month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    base = height - _AXIS + 4
    out.append(f'<g class="axis"><line x1="{_LEFT}" y1="{base}" x2="{_RIGHT}" y2="{base}" '
               'stroke="#98a2b3"/>')
    for t in ticks:
        label = str(t.year) if t.month == 1 and span > 3 * 365 else t.strftime("%Y-%m")
        out.append(f'<line x1="{x(t)}" y1="{_TOP - 4}" x2="{x(t)}" y2="{base}" '
                   f'stroke="#eaecf0"/><text x="{x(t)}" y="{base + 14}" font-size="10" '
                   f'text-anchor="middle" fill="#5b6773">{label}</text>')
    out.append("</g>")
    # holds: the top lane, from the day a hold came in to its end (or its removal)
    out.append(f'<text x="4" y="{_TOP - 10}" font-size="11" fill="#5b6773">holds</text>')
    removed = {(e.artifact, e.details.get("reason")): e.date.date() for e in holds
               if e.kind == "hold-removed"}
    for e in holds:
        if e.kind != "hold":
            continue
        start = e.date.date()
        end = (removed.get((e.artifact, e.details.get("reason")))
               or _date_of(e.details.get("until")))
        x2 = x(end) if end else _RIGHT
        until = f" until {end}" if end else ", no end"
        out.append(f'<g class="mark hold" data-date="{start}"><title>hold on {_e(e.artifact)}: '
                   f'{_e(e.details.get("reason"))}{_e(until)} (commit {_e(e.commit[:10])})'
                   f'</title><rect x="{x(start)}" y="{_TOP - 18}" '
                   f'width="{max(2.0, round(x2 - x(start), 1))}" '
                   f'height="6" fill="{STATE_COLORS["held"]}" fill-opacity="0.35"/>'
                   f'<path d="M{x(start)} {_TOP - 21} v12 l7 -4 z" '
                   f'fill="{STATE_COLORS["held"]}"/></g>')
    for n, f in enumerate(rows):
        y = _TOP + n * _ROW
        tip = [f"{f.version} ({f.state})"]
        if f.retention_class:
            tip.append(f"class {f.retention_class}")
        tip += [f"{what} {day}" for what, day in (
            ("became current", f.began), ("superseded", f.superseded),
            ("archived", f.archived), ("disposed", f.disposed),
            ("archive due", f.archive_due), ("dispose due", f.dispose_due)) if day]
        if f.hold:
            tip.append(f"held: {f.hold}")
        if f.note:
            tip.append(f.note)
        out.append(f'<g class="version" data-version="{_e(f.version)}" '
                   f'data-state="{_e(f.state)}"><title>{_e("; ".join(tip))}</title>'
                   f'<text x="4" y="{y + 13}" font-size="11" font-family="ui-monospace, '
                   f'monospace" fill="#1d232a">{_e(f.version.removeprefix("md5:")[:12])}</text>')
        for ph in f.phases:
            color = STATE_COLORS.get(ph.state, "#98a2b3")
            x1 = x(ph.start)
            if ph.state == "disposed":
                out.append(f'<path class="phase disposed{" future" if ph.future else ""}" '
                           f'd="M{x1 - 5} {y + 3} l10 10 m0 -10 l-10 10" stroke="{color}" '
                           f'stroke-width="2.5"/>')
                continue
            x2 = x(ph.end) if ph.end else _RIGHT
            style = (f'fill-opacity="0.35" stroke="{color}" stroke-dasharray="3 2"'
                     if ph.future else "")
            out.append(f'<rect class="phase {_e(ph.state)}{" future" if ph.future else ""}" '
                       f'x="{x1}" y="{y + 4}" width="{max(1.0, round(x2 - x1, 1))}" '
                       f'height="10" rx="2" fill="{color}" {style}/>')
        out.append("</g>")
    # releases: a diamond on the version's row, on the day it was released
    marked: set[tuple[str, str]] = set()
    index = {f.version: n for n, f in enumerate(rows)}
    for e in releases:
        n = index.get(str(e.version))
        tag = str(e.details.get("tag") or e.summary)
        if n is None or (str(e.version), tag) in marked:
            continue
        marked.add((str(e.version), tag))
        out.append(_diamond(x(e.date.date()), _TOP + n * _ROW + 9, str(e.version), tag,
                            e.date.date()))
    for n, f in enumerate(rows):  # pinned by a tag the events do not date (lightweight)
        if f.release and not any(v == f.version for v, _ in marked):
            day = f.began or f.superseded or as_of
            out.append(_diamond(x(day), _TOP + n * _ROW + 9, f.version, f.release, day))
    # the label goes left of the line when the line is near the right edge
    label_x, anchor = (x(as_of) - 3, "end") if x(as_of) > _W - 90 else (x(as_of) + 3, "start")
    out.append(f'<g class="today"><line x1="{x(as_of)}" y1="{_TOP - 22}" x2="{x(as_of)}" '
               f'y2="{base}" stroke="#1d232a" stroke-dasharray="4 3"/><text x="{label_x}"'
               f' y="{_TOP - 22 + 9}" font-size="10" text-anchor="{anchor}" '
               f'fill="#1d232a">as of {as_of}</text></g>')
    out.append("</svg>")
    return "".join(out)


def _diamond(cx: float, cy: float, version: str, tag: str, day: dt.date) -> str:
    return (f'<g class="mark release" data-version="{_e(version)}"><title>release '
            f'{_e(tag)} ({_e(day)})</title><path d="M{cx} {cy - 7} l6 7 l-6 7 l-6 -7 z" '
            'fill="#fff" stroke="#1d232a" stroke-width="1.5"/></g>')


def _legend() -> str:
    items = "".join(f'<span class="key"><i style="background:{c}"></i>{_e(state)}</span>'
                    for state, c in STATE_COLORS.items())
    return (f'<div class="legend">{items}<span class="key"><i class="future"></i>forecast'
            '</span><span class="key">◆ release</span><span class="key">⚑ hold</span></div>')


def _html_disposed(d: DisposedRecord) -> str:
    rows = "".join(f"<tr><th>{_e(label)}</th><td>{_e(value)}</td></tr>"
                   for label, value in disposed_rows(d))
    return (f'<section class="artifact disposed" data-artifact="{_e(d.artifact)}" '
            f'data-version="{_e(d.version)}"><h3>{_e(d.artifact)} '
            f'<code title="{_e(d.version)}">{_e(d.version[:16])}</code></h3>'
            f'<div class="muted">disposed {_e(d.date.date())} in commit <code title="'
            f'{_e(d.commit)}">{_e(d.commit[:10])}</code> by {_e(d.actor)}</div>'
            f"<table>{rows}</table></section>")


def render_html(audit: Audit) -> str:
    """One self-contained page: figures, findings, then a timeline per artifact."""
    flagged = {f.artifact for f in audit.findings if f.artifact}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # No fetch of any kind: the report must read the same offline, years later.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(_title(audit))}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<header><h1>{_e(_title(audit))}</h1>",
        f'<div class="muted">commit <code>{_e(audit.head)}</code> · archivist '
        f"{_e(__version__)}{' · deep object check' if audit.deep else ''}</div></header>",
    ]
    if audit.ok:
        parts.append('<div class="verdict ok" id="verdict">No findings: everything audited '
                     "is in policy.</div>")
    else:
        kinds = ", ".join(f"{n} {k}" for k, n in _kind_counts(audit.findings).items())
        parts.append(f'<div class="verdict bad" id="verdict">{len(audit.findings)} '
                     f"finding(s): {_e(kinds)}</div>")
    parts.append('<section id="figures"><h2>Figures</h2><div class="figures">')
    for label, value in figure_rows(audit.figures):
        parts.append(f'<div class="figure"><div class="label">{_e(label)}</div>'
                     f'<div class="value">{_e(value)}</div></div>')
    parts.append("</div></section>")
    parts.append(f'<section id="findings"><h2>Findings ({len(audit.findings)})</h2>')
    if audit.findings:
        parts.append("<table><thead><tr><th>Kind</th><th>About</th><th>Problem</th>"
                     "<th>By</th><th>Date</th><th>Fix</th></tr></thead><tbody>")
        for f in audit.findings:
            parts.append(
                f'<tr class="finding" data-kind="{_e(f.kind)}"><td><span class="kind" '
                f'title="{_e(FINDING_KINDS.get(f.kind, ""))}">{_e(f.kind)}</span></td>'
                f'<td class="mono" title="{_e(f.subject)}">{_e(_about(f))}</td>'
                f"<td>{_e(f.problem)}"
                + (f'<br><span class="muted">signer {_e(f.signer or "none")}; rule '
                   f"{_e(f.rule)}</span>" if f.rule else "") + "</td>"
                f"<td>{_e(f.author or '')}</td>"
                f"<td class=\"date\">{_e(f.date.date() if f.date else '')}</td>"
                f'<td class="fix"><code>{_e(f.fix)}</code></td></tr>')
        parts.append("</tbody></table>")
    else:
        parts.append('<p class="muted">None.</p>')
    parts.append("</section>")
    if audit.disposed:
        parts.append(f'<section id="disposed"><h2>Disposed ({len(audit.disposed)})</h2>')
        parts += [_html_disposed(d) for d in audit.disposed]
        parts.append("</section>")
    timelines = audit.timelines()
    charts: dict[str, list[Forecast]] = {}
    for f in audit.forecast:
        charts.setdefault(f.path, []).append(f)
    for path in charts:
        timelines.setdefault(path, [])
    timelines = dict(sorted(timelines.items()))
    parts.append(f'<section id="timeline"><h2>Timeline per artifact ({len(timelines)})</h2>')
    if charts:
        parts.append(_legend())
    if not timelines:
        parts.append('<p class="muted">No events.</p>')
    for artifact, events in timelines.items():
        name = artifact or "(repository)"
        cls = "artifact flagged" if artifact in flagged else "artifact"
        parts.append(f'<section class="{cls}" data-artifact="{_e(artifact)}">'
                     f"<h3>{_e(name)}</h3>"
                     f'<div class="muted">{len(events)} event(s)'
                     f"{' · has findings' if artifact in flagged else ''}</div>")
        if artifact in charts:
            parts.append(svg_timeline(artifact, charts[artifact], audit.events, audit.as_of))
        parts.append('<ol class="timeline">')
        parts += [_html_event(e) for e in events]
        parts.append("</ol></section>")
    parts.append("</section>")
    if audit.notes:
        parts.append('<section id="notes"><h2>Not audited</h2><ul class="notes">')
        parts += [f"<li>{_e(n)}</li>" for n in audit.notes]
        parts.append("</ul></section>")
    parts.append(f"<footer>Generated by archivist {_e(__version__)} from git history; "
                 f"every entry names the commit that shows it (git show COMMIT).</footer>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render(audit: Audit, fmt: str, *, stream: Any = None) -> str:
    if fmt == "json":
        return render_json(audit)
    if fmt == "markdown":
        return render_markdown(audit)
    if fmt == "html":
        return render_html(audit)
    return render_table(audit, stream=stream)
