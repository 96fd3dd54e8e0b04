"""Open newswatch's HTML digest email in headless Chromium and check that it is safe and fits.

Usage (from the project root, with the dev venv)::

    .venv/bin/python scripts/check_digest_html.py [FILE.html] [--out DIR] [--timeout SECONDS]

Without FILE the hostile sample digest of ``tests/test_digest_render.py`` (``sample_view()``:
``<script>``, ``<iframe>``, tracker ``<img>`` and ``javascript:`` links inside feed text) is
rendered with ``Renderer("Europe/Kyiv").render("html", view)``; with FILE that document (for
example a digest saved from a real run) is checked instead.

Needs Debian's Chromium (``apt-get install -y --no-install-recommends chromium``); set
``CHROMIUM=/path/to/binary`` to use another one. Each Chromium run is limited to --timeout
seconds (default 60); the whole check takes about 5 s. Nothing leaves the machine: every run
sends its http(s) requests to a recording proxy on 127.0.0.1 (standard library only) and
resolves every host name to 127.0.0.1. Chromium's own background traffic is switched off by
flags (see CHROMIUM_FLAGS), so whatever the proxy records was asked for by the page.

Four Chromium runs; each check is printed as PASS or FAIL with its figures, and the exit status
is 1 if any fails, 2 if Chromium is missing or FILE cannot be read:

1. The document itself at 390x2400 (phone) and 1280x2400 (desktop), with ``--dump-dom`` and
   ``--screenshot``:

   - requests: the proxy recorded none.
   - screenshots: ``phone.png`` and ``desktop.png`` in the output folder (default
     /tmp/newswatch-html-check/) exist, have the requested pixel size and are not trivially
     small (a blank page compresses to a few KB).
   - DOM after load, parsed again: no ``script``, ``iframe``, ``frame``, ``img``, ``object``,
     ``embed``, ``link``, ``base`` or ``form`` element, no ``meta`` refresh, no ``on*``
     attribute, no ``url(`` in a ``style`` attribute, every ``<a href>`` is http(s) or ``#...``.
     For the sample, the hostile ``<script>``, ``<img>`` and ``<iframe>`` feed text must be in the
     DOM as text.

2. A measuring page at 390 and at 1280 px: the document in a sandboxed ``srcdoc`` iframe of that
   width (its own scripts could not run), measured from outside by a small inline script that
   writes ``document.documentElement.scrollWidth`` and every box or text that passes the right
   edge into the title, read back from ``--dump-dom``. An iframe sets the width, not
   ``--window-size``, because headless Chromium lays a page out at least 500 px wide until
   ``--screenshot`` resizes it, after load, and ``--dump-dom`` is taken at load.

   - no horizontal scrolling on a phone: scrollWidth <= 390 with a 390 px viewport; if not, the
     overflowing elements are listed. The desktop figures are printed for information.
   - JavaScript runs in this Chromium (the measuring script reported), so the DOM checks above
     mean that nothing in the document could run script.
   - the recorder works: a hidden image from ``http://canary.newswatch-check.invalid/`` in the
     measuring page was recorded, and nothing else was.

The output folder also keeps ``digest.html`` (the document checked: FILE is copied there), the
DOM dumps (``*.dom.html``) and the measuring pages, for a look by hand.
"""

from __future__ import annotations

import argparse
import html
import importlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = Path("/tmp/newswatch-html-check")
PHONE = (390, 2400)
DESKTOP = (1280, 2400)
MIN_PNG_BYTES = 8 * 1024
CANARY_HOST = "canary.newswatch-check.invalid"
CANARY_URL = f"http://{CANARY_HOST}/probe.gif"
TITLE_MARK = "NWCHECK:"
# Feed text in sample_view() that must come out as text, not markup.
HOSTILE_TEXTS = (
    '<script>alert("x")</script>',
    '<img src="https://tracker.example/p.gif">',
    '<iframe src="https://evil.example"></iframe>',
)
FORBIDDEN_TAGS = frozenset(
    {"script", "iframe", "frame", "frameset", "img", "object", "embed", "link", "base", "form"}
)

# Headless, no GPU, a throw-away profile, and nothing of Chromium's own that phones home. Every
# host name resolves to 127.0.0.1 and every http(s) request goes to our recording proxy.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--no-pings",
    "--metrics-recording-only",
    "--hide-scrollbars",
    "--disable-features=NetworkTimeServiceQuerying,Translate,OptimizationHints,MediaRouter",
    # Two of Chromium's own services ask anyway (Gaia's ListAccounts at start-up, and an
    # on-demand component update check); send them to a closed loopback port, not the recorder.
    "--gaia-url=http://127.0.0.1:9/",
    "--component-updater=url-source=http://127.0.0.1:9/",
)

# The measuring page: the document under test in a sandboxed iframe (its own scripts, if any,
# cannot run) exactly WIDTH CSS px wide, measured from outside by this page's script, which
# reports through the title. An iframe, not the window, sets the width, because headless
# Chromium lays a page out at least 500 px wide until --screenshot resizes it after load, and
# --dump-dom is taken at load. The canary image proves that the recorder sees a page's requests.
MEASURE_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>measuring</title></head>
<body style="margin:0;padding:0">
<iframe id="doc" sandbox="allow-same-origin" srcdoc="{srcdoc}"
  style="display:block;border:0;margin:0;width:{width}px;height:{height}px"></iframe>
<img alt="" src="{canary}" style="display:none">
<script>
window.addEventListener("load", function () {{
  var doc = document.getElementById("doc").contentDocument;
  var root = doc.documentElement;
  var viewport = root.clientWidth;
  var over = [];
  function note(el, kind, r) {{
    if (r.right > viewport + 0.5) {{
      over.push({{tag: el.tagName.toLowerCase(), id: el.id || "", kind: kind,
        text: (el.textContent || "").replace(/\\s+/g, " ").trim().slice(0, 60),
        right: Math.round(r.right), width: Math.round(r.width),
        by: Math.round(r.right - viewport)}});
    }}
  }}
  var all = doc.body ? doc.body.getElementsByTagName("*") : [];
  for (var i = 0; i < all.length; i++) {{
    note(all[i], "box", all[i].getBoundingClientRect());
  }}
  // Text that runs out of its box (white-space:nowrap, a long unbroken word): its parent.
  var walker = doc.createTreeWalker(doc.body || root, NodeFilter.SHOW_TEXT);
  var range = doc.createRange();
  while (walker.nextNode()) {{
    range.selectNodeContents(walker.currentNode);
    note(walker.currentNode.parentElement, "text", range.getBoundingClientRect());
  }}
  over.sort(function (a, b) {{ return b.by - a.by; }});
  document.title = "{mark}" + JSON.stringify({{scrollWidth: root.scrollWidth,
    clientWidth: viewport, innerWidth: doc.defaultView.innerWidth,
    contentHeight: Math.ceil(root.getBoundingClientRect().height), overflowing: over}});
}});
</script>
</body></html>
"""


class ChromiumMissingError(RuntimeError):
    """No Chromium binary was found."""


# --------------------------------------------------------------------------- recording proxy


@dataclass
class Recorder:
    """What the proxy saw: one line per request, in order."""

    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, line: str) -> None:
        with self.lock:
            self.requests.append(line)

    def since(self, start: int) -> list[str]:
        with self.lock:
            return list(self.requests[start:])

    def count(self) -> int:
        with self.lock:
            return len(self.requests)


def make_handler(recorder: Recorder) -> type[BaseHTTPRequestHandler]:
    """A handler that records every request (any method, CONNECT too) and answers it emptily."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def parse_request(self) -> bool:
            ok = super().parse_request()
            if ok:
                recorder.add(f"{self.command} {self.path} (Host: {self.headers.get('Host', '-')})")
            return ok

        def _answer(self) -> None:
            # 403 for CONNECT: no tunnel is opened. 204 otherwise: an empty answer.
            self.send_response(403 if self.command == "CONNECT" else 204)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _answer
        do_OPTIONS = do_PATCH = do_CONNECT = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass  # the recorder keeps what matters

    return Handler


def start_recorder() -> tuple[ThreadingHTTPServer, Recorder]:
    recorder = Recorder()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(recorder))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="recorder", daemon=True).start()
    return server, recorder


# --------------------------------------------------------------------------- chromium


def find_chromium() -> str:
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        if shutil.which(explicit):
            return explicit
        raise ChromiumMissingError(explicit)
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise ChromiumMissingError("chromium")


def chromium_version(binary: str) -> str:
    try:
        done = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    version = done.stdout.strip() or "unknown"
    try:
        dpkg = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", "chromium"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return version
    if dpkg.returncode == 0 and dpkg.stdout.strip():
        version += f" (Debian package chromium {dpkg.stdout.strip()})"
    return version


@dataclass
class Run:
    """One Chromium run: its DOM dump, the requests it caused and how long it took."""

    dom: str
    requests: list[str]
    seconds: float


class Chromium:
    def __init__(self, binary: str, proxy_port: int, recorder: Recorder, timeout: float) -> None:
        self.binary = binary
        self.proxy_port = proxy_port
        self.recorder = recorder
        self.timeout = timeout

    def run(self, page: Path, size: tuple[int, int], screenshot: Path | None = None) -> Run:
        """Load ``page`` at ``size``; return the DOM after load; optionally take a screenshot."""
        start_count = self.recorder.count()
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="nwcheck-profile-") as profile:
            args = [
                self.binary,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--proxy-server=http://127.0.0.1:{self.proxy_port}",
                "--host-resolver-rules=MAP * 127.0.0.1",
                f"--window-size={size[0]},{size[1]}",
                "--dump-dom",
            ]
            if screenshot is not None:
                screenshot.unlink(missing_ok=True)
                args.append(f"--screenshot={screenshot}")
            args.append(page.resolve().as_uri())
            stdout = self._execute(args)
        time.sleep(0.2)  # let the proxy threads finish recording a last request
        return Run(stdout, self.recorder.since(start_count), time.monotonic() - started)

    def _execute(self, args: list[str]) -> str:
        # A session of its own, so that on a timeout the whole process group (browser, zygote,
        # renderers) is killed, not only the launcher.
        process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise RuntimeError(f"chromium did not finish within {self.timeout:g} s") from None
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        if process.returncode != 0:
            tail = "\n".join(stderr.strip().splitlines()[-15:])
            raise RuntimeError(f"chromium exited with status {process.returncode}:\n{tail}")
        return stdout


# --------------------------------------------------------------------------- checks


class DomAudit(HTMLParser):
    """What a browser could load or run from a (dumped) DOM, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: dict[str, int] = {}
        self.forbidden: list[str] = []
        self.handlers: list[str] = []
        self.bad_hrefs: list[str] = []
        self.hrefs = 0
        self.style_urls: list[str] = []
        self.text_parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements[tag] = self.elements.get(tag, 0) + 1
        values = {name: value or "" for name, value in attrs}
        if tag in FORBIDDEN_TAGS:
            self.forbidden.append(tag)
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.forbidden.append("meta refresh")
        for name, value in values.items():
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}>")
            if name == "style" and "url(" in value.replace(" ", "").lower():
                self.style_urls.append(f"<{tag} style={value!r}>")
        if tag == "a" and "href" in values:
            self.hrefs += 1
            href = values["href"].strip()
            if not href.lower().startswith(("http://", "https://", "#")):
                self.bad_hrefs.append(href)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)


@dataclass
class Report:
    results: list[tuple[bool, str, str]] = field(default_factory=list)

    def check(self, ok: bool, name: str, detail: str) -> None:
        self.results.append((ok, name, detail))
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}", flush=True)

    def info(self, name: str, detail: str) -> None:
        print(f"INFO  {name}: {detail}", flush=True)

    @property
    def failed(self) -> int:
        return sum(1 for ok, _, _ in self.results if not ok)


def png_size(path: Path) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR, or None if the file is not a PNG."""
    head = path.read_bytes()[:24]
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def measurement(dom: str) -> dict[str, object] | None:
    start = dom.find("<title>" + html.escape(TITLE_MARK, quote=False))
    if start < 0:
        return None
    start += len("<title>")
    end = dom.find("</title>", start)
    text = html.unescape(dom[start:end])[len(TITLE_MARK) :]
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def measuring_page(document: str, size: tuple[int, int]) -> str:
    return MEASURE_PAGE.format(
        srcdoc=html.escape(document, quote=True),
        width=size[0],
        height=size[1],
        canary=CANARY_URL,
        mark=TITLE_MARK,
    )


def describe_overflow(data: dict[str, object]) -> str:
    over = data.get("overflowing")
    if not isinstance(over, list) or not over:
        return "no element passes the right edge"
    lines = []
    for item in over[:8]:
        if isinstance(item, dict):
            lines.append(
                f"<{item.get('tag')}{' id=' + str(item['id']) if item.get('id') else ''}> "
                f"({'its text' if item.get('kind') == 'text' else 'its box'}) "
                f"right edge {item.get('right')} px (width {item.get('width')} px, "
                f"{item.get('by')} px too far): {item.get('text')!r}"
            )
    more = f" (+{len(over) - 8} more)" if len(over) > 8 else ""
    return "; ".join(lines) + more


# --------------------------------------------------------------------------- main


def render_sample() -> str:
    sys.path.insert(0, str(ROOT / "tests"))
    module = importlib.import_module("test_digest_render")
    from newswatch.digest.render import Renderer

    rendered: str = Renderer("Europe/Kyiv").render("html", module.sample_view())
    return rendered


def check_dom(report: Report, dom: str, sample: bool) -> None:
    audit = DomAudit()
    audit.feed(dom)
    audit.close()
    total = sum(audit.elements.values())
    report.check(
        total > 0 and "body" in audit.elements,
        "DOM dumped",
        f"{len(dom)} characters, {total} elements",
    )
    report.check(
        not audit.forbidden,
        "no script/iframe/img/object/embed/link/base/form/meta-refresh",
        f"found {audit.forbidden}" if audit.forbidden else "none found",
    )
    report.check(
        not audit.handlers,
        "no on* attributes",
        f"found {audit.handlers}" if audit.handlers else "none found",
    )
    report.check(
        not audit.style_urls,
        "no url() in style attributes",
        f"found {audit.style_urls}" if audit.style_urls else "none found",
    )
    report.check(
        audit.hrefs > 0 and not audit.bad_hrefs,
        "every <a href> is http(s) or #fragment",
        f"{audit.hrefs} links; bad: {audit.bad_hrefs}"
        if audit.bad_hrefs
        else f"{audit.hrefs} links, all http(s) or #",
    )
    if sample:
        for hostile in HOSTILE_TEXTS:
            tag = hostile[1:].split(" ", 1)[0].split(">", 1)[0]
            shown = audit.text.count(hostile)
            report.check(
                shown > 0 and tag not in audit.elements,
                f"hostile <{tag}> shown as text only",
                f"{hostile!r} appears {shown}x in the DOM text, "
                f"{audit.elements.get(tag, 0)} <{tag}> elements",
            )


def check_screenshot(report: Report, path: Path, size: tuple[int, int]) -> None:
    if not path.is_file():
        report.check(False, f"screenshot {path.name}", "not written")
        return
    bytes_ = path.stat().st_size
    dims = png_size(path)
    report.check(
        dims == size and bytes_ >= MIN_PNG_BYTES,
        f"screenshot {path.name}",
        f"{path}, {dims[0] if dims else '?'}x{dims[1] if dims else '?'} px, {bytes_} bytes "
        f"(want {size[0]}x{size[1]}, >= {MIN_PNG_BYTES} bytes)",
    )


def check_layout(report: Report, chromium: Chromium, out: Path, document: str) -> None:
    """Measure the document in a phone-wide and a desktop-wide frame; check the recorder too."""
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        wrapper = out / f"measure-{label}.html"
        wrapper.write_text(measuring_page(document, size), encoding="utf-8")
        run = chromium.run(wrapper, DESKTOP)
        (out / f"measure-{label}.dom.html").write_text(run.dom, encoding="utf-8")
        canary = [r for r in run.requests if CANARY_HOST in r]
        others = [r for r in run.requests if CANARY_HOST not in r]
        report.check(
            bool(canary),
            f"recorder sees a page's request (canary, {label} measuring run)",
            f"{len(canary)} canary request(s) recorded: {canary}",
        )
        report.check(
            not others,
            f"no requests from the document in a {size[0]} px frame",
            f"{len(others)} recorded" + (f": {others}" if others else ""),
        )
        data = measurement(run.dom)
        report.check(
            data is not None,
            f"JavaScript runs in this Chromium ({label} measuring run)",
            "the measuring script reported" if data else "the measuring script did not report",
        )
        if data is None:
            continue
        width = data.get("scrollWidth")
        viewport = data.get("clientWidth")
        figures = (
            f"scrollWidth {width} px, viewport {viewport} px "
            f"(innerWidth {data.get('innerWidth')}), content height {data.get('contentHeight')} px"
        )
        if label == "phone":
            ok = viewport == size[0] and isinstance(width, int) and width <= size[0]
            report.check(ok, f"no horizontal scrolling at {size[0]} px", figures)
            if isinstance(width, int) and width > size[0]:
                report.info("overflowing at phone width", describe_overflow(data))
        else:
            report.info(f"layout at {size[0]} px", figures)


def check_page(report: Report, chromium: Chromium, out: Path, page: Path, sample: bool) -> None:
    runs = []
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        shot = out / f"{label}.png"
        run = chromium.run(page, size, screenshot=shot)
        runs.append(run)
        (out / f"{label}.dom.html").write_text(run.dom, encoding="utf-8")
        report.check(
            not run.requests,
            f"no requests from the page ({label}, {size[0]}x{size[1]})",
            f"{len(run.requests)} recorded" + (f": {run.requests}" if run.requests else ""),
        )
        check_screenshot(report, shot, size)
    check_dom(report, runs[0].dom, sample)
    if runs[0].dom != runs[1].dom:
        report.info("DOM", "phone and desktop dumps differ; the desktop dump is checked too")
        check_dom(report, runs[1].dom, sample)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "file",
        nargs="?",
        type=Path,
        help="HTML digest to check (default: render the hostile sample digest)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"folder for screenshots and dumps (default {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds allowed for each Chromium run (default 60)",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()

    try:
        binary = find_chromium()
    except ChromiumMissingError as missing:
        print(f"chromium not found ({missing}): apt-get install chromium", file=sys.stderr)
        return 2

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.file is None:
        document, source, sample = render_sample(), "sample_view() rendered", True
    else:
        try:
            document = args.file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            print(f"cannot read {args.file}: {error}", file=sys.stderr)
            return 2
        source, sample = str(args.file), False
    page = out / "digest.html"
    page.write_text(document, encoding="utf-8")

    report = Report()
    report.info("chromium", chromium_version(binary))
    report.info("document", f"{source}, {len(document)} characters, checked as {page}")
    if sample:
        golden = ROOT / "tests" / "data" / "digests" / "sample.html"
        if golden.is_file():
            same = golden.read_text(encoding="utf-8") == document
            report.info(
                "golden file", f"{golden} {'matches' if same else 'DIFFERS from'} the rendering"
            )

    server, recorder = start_recorder()
    chromium = Chromium(binary, server.server_address[1], recorder, args.timeout)
    try:
        check_page(report, chromium, out, page, sample)
        check_layout(report, chromium, out, document)
    except RuntimeError as error:
        report.check(False, "chromium run", str(error))
    finally:
        server.shutdown()
        server.server_close()

    total = len(report.results)
    print(
        f"{total - report.failed} passed, {report.failed} failed "
        f"in {time.monotonic() - started:.1f} s; files in {out}"
    )
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
