"""A page opened in a real headless Chromium: does it render, log errors, fit its width?

The page is shown unchanged in iframes of a small harness page (srcdoc, so the harness may
measure it): one 1280 px wide like a laptop, one 390 px wide like a phone. The harness
writes what it measured into its own DOM, which `--dump-dom` prints. Console messages and
uncaught errors of the page come from Chromium's log on stderr.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000",
         "--window-size=1400,1000"]
WIDTHS = (1280, 390)

_HARNESS = """<!doctype html><html><head><meta charset="utf-8"><title>harness</title></head>
<body style="margin:0">%(frames)s
<pre id="measured"></pre>
<script>
const page = %(page)s;
const widths = %(widths)s;
let loaded = 0;
const measured = {};
for (const width of widths) {
  const frame = document.getElementById("w" + width);
  frame.addEventListener("load", () => {
    const doc = frame.contentDocument;
    measured[width] = {
      scrollWidth: doc.documentElement.scrollWidth,
      clientWidth: doc.documentElement.clientWidth,
      height: doc.documentElement.scrollHeight,
      title: doc.title,
      headings: doc.querySelectorAll("h1, h2").length,
      svgs: doc.querySelectorAll("svg").length,
      brokenImages: [...doc.images].filter(i => !i.complete || i.naturalWidth === 0).length,
      widestSvg: Math.max(0, ...[...doc.querySelectorAll("svg")].map(
        s => s.getBoundingClientRect().width)),
    };
    if (++loaded === widths.length) {
      document.getElementById("measured").textContent = JSON.stringify(measured);
    }
  });
  frame.srcdoc = page;
}
</script></body></html>"""


@dataclass(frozen=True)
class Opened:
    """What Chromium saw: measurements per width, and the page's console lines."""

    measured: dict[int, dict]
    console: list[str]


def open_page(page: str, workdir: Path) -> Opened:
    """Open `page` (HTML text) at every width of `WIDTHS` in one Chromium run."""
    frames = "".join(f'<iframe id="w{w}" style="width:{w}px;height:900px;border:0;'
                     f'display:block"></iframe>' for w in WIDTHS)
    harness = workdir / "harness.html"
    # "</" escaped: the page's own </script> must not end the harness's script.
    text = json.dumps(page).replace("</", "<\\/")
    harness.write_text(_HARNESS % {"frames": frames, "page": text,
                                   "widths": json.dumps(list(WIDTHS))}, encoding="utf-8")
    result = subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={workdir / 'profile'}", "--dump-dom",
         harness.as_uri()], capture_output=True, text=True, timeout=120, check=False)
    found = re.search(r'<pre id="measured">(.*?)</pre>', result.stdout, re.S)
    assert found and found.group(1), f"the harness measured nothing: {result.stderr[-2000:]}"
    measured = {int(k): v for k, v in json.loads(found.group(1)).items()}
    # Lines like: [..:INFO:CONSOLE:1] "Uncaught ReferenceError: ...", source: about:srcdoc (1)
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return Opened(measured, console)
