"""The audit as text: a terminal table, JSON, Markdown for merge requests, one HTML file.

Every renderer takes an ``Audit`` and returns a string; nothing here reads git. The HTML
report is one self-contained file: inline styles, no scripts, no fonts or images to fetch,
and a Content-Security-Policy that forbids any fetch, so it opens the same offline, in a
mail attachment or in an evidence archive years later.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from archivist import __version__
from archivist.audit.judge import FINDING_KINDS, Audit, AuditEvent, Figures, Finding
from archivist.output import human_bytes, paint, use_color

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
        if key in ("events", "findings") and value:
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
    timelines = audit.timelines()
    parts.append(f'<section id="timeline"><h2>Timeline per artifact ({len(timelines)})</h2>')
    if not timelines:
        parts.append('<p class="muted">No events.</p>')
    for artifact, events in timelines.items():
        name = artifact or "(repository)"
        cls = "artifact flagged" if artifact in flagged else "artifact"
        parts.append(f'<section class="{cls}" data-artifact="{_e(artifact)}">'
                     f"<h3>{_e(name)}</h3>"
                     f'<div class="muted">{len(events)} event(s)'
                     f"{' · has findings' if artifact in flagged else ''}</div>"
                     '<ol class="timeline">')
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
