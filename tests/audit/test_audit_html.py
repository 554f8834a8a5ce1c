"""The HTML report, loaded in a real headless Chromium: timeline and findings render."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .auditrepo import AuditRepo

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; "
                             "`make test` installs it)")


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False)


def test_html_report_renders_timeline_and_findings(base: AuditRepo, tmp_path: Path) -> None:
    report = tmp_path / "audit.html"
    proc = base.audit("--output", str(report))
    assert proc.returncode == 1, proc.stderr
    html = report.read_text(encoding="utf-8")
    # self-contained: nothing to fetch, and a policy that forbids fetching anyway
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "<script" not in html
    assert "default-src 'none'" in html

    dom = _chromium(tmp_path, "--dump-dom", report.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = dom.stdout
    assert '<section id="timeline">' in page
    timeline = page[page.index('<section id="timeline">'):]
    clf = timeline[timeline.index('data-artifact="models/clf.pkl"'):]
    clf = clf[:clf.index("</ol>")]
    kinds = re.findall(r'<li[^>]*data-kind="([a-z]+)"', clf)
    assert kinds == ["added", "version", "tags", "archive", "version"]
    assert "owner: ana@example.com -&gt; bob@example.com" in clf
    assert "Bob Stone" in clf and "archivist bot" in clf
    findings = page[page.index('<section id="findings">'):page.index('<section id="timeline">')]
    assert findings.count('<tr class="finding"') == 5
    for kind in ("noncompliant", "hook-bypassed", "overdue", "policy-weakened"):
        assert f'data-kind="{kind}"' in findings
    assert "archivist tag models/untagged.pkl owner=... retention=experiment|standard" \
        in findings
    assert "5 finding(s)" in page

    shot = tmp_path / "audit.png"
    proc = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,1600",
                     "--hide-scrollbars", report.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank canvas
    keep = Path.cwd() / ".pytest-artifacts"
    if keep.is_dir():  # let a developer look at it: mkdir .pytest-artifacts first
        shutil.copy(shot, keep / "audit-report.png")


def test_html_escapes_what_people_wrote(fresh: AuditRepo, tmp_path: Path) -> None:
    from .auditrepo import when

    fresh.git("commit", "-q", "--allow-empty", "--no-verify", "-m",
              "<script>alert(1)</script>\n\nArchivist-Event: hold\n"
              "Archivist-Artifact: models/<b>x</b>.pkl\nArchivist-Version: md5:1\n",
              env=when("2024-04-01", "eve"))
    report = tmp_path / "audit.html"
    fresh.audit("--output", str(report))
    html = report.read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
