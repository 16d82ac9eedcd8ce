"""Open an HTML file in Debian's headless Chromium: measure its SVG charts, take a screenshot."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)

# Appended to a copy of the page (the report itself has no scripts): after layout, write
# every SVG's rendered size and element counts into the DOM, which --dump-dom prints.
_MEASURE = """
<script>
window.addEventListener('load', () => {
  const charts = [...document.querySelectorAll('svg[id]')].map(svg => {
    const box = svg.getBoundingClientRect();
    const drawn = [...svg.querySelectorAll('rect, circle, polyline')]
      .filter(el => { const b = el.getBoundingClientRect(); return b.width > 0 && b.height > 0; });
    return {id: svg.id, width: box.width, height: box.height,
            rects: svg.querySelectorAll('rect').length, drawn: drawn.length,
            cells: svg.querySelectorAll('rect.cell').length,
            bars: svg.querySelectorAll('rect.bar').length,
            points: svg.querySelectorAll('circle.point').length};
  });
  const sections = [...document.querySelectorAll('section[id]')].map(s => s.id);
  const out = document.createElement('pre');
  out.id = 'measurements';
  out.textContent = JSON.stringify({charts, sections,
    scrollHeight: document.documentElement.scrollHeight});
  document.body.appendChild(out);
});
</script>
"""


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise AssertionError(
            "Debian's chromium is needed for the report test: `make browser` "
            "(apt-get install -y chromium)"
        )
    return path


def measure(html_path: Path, tmp_path: Path, width: int = 1280) -> dict:
    """Render a copy of the page with the measuring script; the charts' sizes and counts."""
    probe = tmp_path / "probe.html"
    probe.write_text(html_path.read_text(encoding="utf-8").replace("</body>", _MEASURE + "</body>"),
                     encoding="utf-8")
    result = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile-dom'}",
         f"--window-size={width},2000", "--virtual-time-budget=5000", "--dump-dom",
         probe.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )
    match = re.search(r'<pre id="measurements">(.*?)</pre>', result.stdout, re.S)
    if not match:
        raise AssertionError(f"chromium printed no measurements:\n{result.stderr[-2000:]}")
    return json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def screenshot(html_path: Path, png_path: Path, tmp_path: Path, height: int = 4200,
               width: int = 1280) -> Path:
    """A screenshot of the page in a window `width` pixels wide, for people to look at."""
    result = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile-shot'}",
         f"--window-size={width},{height}", f"--screenshot={png_path}", html_path.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )
    if not png_path.exists():
        raise AssertionError(f"chromium wrote no screenshot:\n{result.stderr[-2000:]}")
    return png_path
