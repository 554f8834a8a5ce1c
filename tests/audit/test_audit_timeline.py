"""The HTML report's timeline chart: inline SVG per artifact, rendered in headless Chromium.

The repository (recordsrepo.py) has a disposed signed release, a folder, and a hold. The
chart must hold one row per version git knows, a release mark and a hold mark where they
belong, stay self-contained, and draw (the screenshot's pixels carry the state colours).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest

from archivist.audit.report import STATE_COLORS
from realrepo import Repo, archivist

from .recordsrepo import AS_OF, build, dvc_out

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; "
                             "`make test` installs it)")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    top = tmp_path_factory.mktemp("timeline")
    return top, build(top)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False)


def _versions(repo: Repo, dvc_file: str) -> set[str]:
    """Every version git's history of ``dvc_file`` records, read from each commit."""
    commits = repo.git("log", "--format=%H", "--", dvc_file).stdout.split()
    return {"md5:" + dvc_out(repo, c, dvc_file)["md5"] for c in commits}


def _pixels(png: bytes) -> list[tuple[int, int, int]]:
    """The RGB pixels of an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    channels = 3
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        body = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, _, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytearray] = []
    prev = bytearray(stride)
    for start in range(0, len(raw), stride + 1):
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else
                                      up if pb <= pc else corner)) & 255
        rows.append(line)
        prev = line
    return [(r[i], r[i + 1], r[i + 2]) for r in rows for i in range(0, stride, channels)]


def _count(pixels: list[tuple[int, int, int]], color: str) -> int:
    want = tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))
    return sum(1 for p in pixels if all(abs(a - b) <= 6 for a, b in zip(p, want, strict=True)))


def test_html_report_draws_a_timeline_per_artifact(built: tuple[Path, dict[str, Any]],
                                                   tmp_path: Path) -> None:
    top, facts = built
    repo = Repo(top / "repo")
    report = tmp_path / "audit.html"
    proc = archivist("audit", "--as-of", AS_OF, "--output", str(report), cwd=repo.root)
    assert proc.returncode in (0, 1), proc.stderr
    html = report.read_text(encoding="utf-8")
    # still self-contained: nothing to fetch, no script, a policy that forbids fetching
    assert not re.search(r"""(src|href|xlink:href)\s*=\s*["']?(https?:|//)""", html)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html and "default-src 'none'" in html

    dom = _chromium(tmp_path, "--dump-dom", report.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = dom.stdout
    timeline = page[page.index('<section id="timeline">'):]
    for artifact, dvc_file, holds, releases in (("models/clf.pkl", "models/clf.pkl.dvc", 1, 1),
                                                ("data", "data.dvc", 0, 0)):
        section = timeline[timeline.index(f'data-artifact="{artifact}"'):]
        svg = section[section.index("<svg"):section.index("</svg>")]
        # one row per version that git's history records, each with its state
        rows = re.findall(r'<g class="version" data-version="([^"]+)" data-state="([a-z-]+)"',
                          svg)
        assert {v for v, _ in rows} == _versions(repo, dvc_file)
        assert len(rows) == len(_versions(repo, dvc_file))
        assert svg.count('<g class="mark hold"') == holds
        assert svg.count('<g class="mark release"') == releases
        assert '<g class="today">' in svg
    clf = timeline[timeline.index('data-artifact="models/clf.pkl"'):]
    clf = clf[clf.index("<svg"):clf.index("</svg>")]
    states = dict(re.findall(r'data-version="([^"]+)" data-state="([a-z-]+)"', clf))
    v1 = "md5:" + facts["clf"]["md5"]
    assert states[v1] == "disposed" and states[facts["clf_v2"]] == "held"
    # the release mark sits on the released (disposed) version's row, the hold's on top
    assert f'<g class="mark release" data-version="{v1}"><title>release clf@v1.0.0' in clf
    assert "legal hold LH-114 until 2030-12-31" in clf
    # the held version's future: held until its hold ends, then the archive, then gone
    v2_row = clf[clf.index(f'data-version="{facts["clf_v2"]}"'):]
    v2_row = v2_row[:v2_row.index("</g>")]
    assert re.search(r'class="phase held future"', v2_row)
    assert re.search(r'class="phase disposed future"', v2_row)
    assert "dispose due 2031-01-01" in v2_row
    v1_row = clf[clf.index(f'data-version="{v1}" data-state'):]
    v1_row = v1_row[:v1_row.index("</g>")]
    assert re.search(r'class="phase archived"', v1_row)
    assert re.search(r'class="phase disposed"', v1_row)

    shot = tmp_path / "timeline.png"
    proc = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2200",
                     "--hide-scrollbars", report.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    pixels = _pixels(shot.read_bytes())
    # drawn, not just parsed: the bars carry the state colours (far more than the legend's
    # swatches, some 120 pixels each)
    for state in ("current", "active", "archived"):
        assert _count(pixels, STATE_COLORS[state]) > 1000, state
    assert _count(pixels, STATE_COLORS["disposed"]) > 40
    keep = Path.cwd() / ".pytest-artifacts"
    if keep.is_dir():  # let a developer look at it: mkdir .pytest-artifacts first
        shutil.copy(shot, keep / "audit-timeline.png")
