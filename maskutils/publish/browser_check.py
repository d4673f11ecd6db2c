"""Open the HTML reports in headless Chromium and fail on anything a reader would see broken.

    python -m maskutils.publish.browser_check [PAGES or FOLDERS ...] [--screenshots DIR]
    [--timeout S]

For each page: a broken image (not loaded, or zero width), a console error, an uncaught exception, a
browser log error, or a request for anything but a file: or data: URL is a failure. Requests for
http(s)/ws(s)/ftp are blocked in the browser, so the check itself sends nothing off the machine;
they are
still recorded (and fail the page). A screenshot of each page goes to --screenshots. The static
check
(maskutils.publish.html.check_offline: remote URLs, images not embedded as data: URIs) runs on
each page too.

Needs a Chromium or Chrome binary (Debian/Ubuntu: `apt install chromium`; or set CHROMIUM=/path)
and the
websocket-client package; talks the Chrome DevTools Protocol over the browser's own websocket. Exit
status: 0 all pages pass, 1 some page fails, 2 no browser or nothing to check.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_HINT = (
    "no Chromium/Chrome found: install it (Debian/Ubuntu: `sudo apt install chromium`) "
    "or set CHROMIUM=/path/to/chromium"
)
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
LOCAL_URL_SCHEMES = ("file:", "data:", "about:", "blob:", "devtools:", "chrome-error:")
BLOCKED = ["http://*", "https://*", "ws://*", "wss://*", "ftp://*"]

# Waits for every image (lazy ones made eager) to load or fail, up to 5 s, then lists the broken
# ones.
_BROKEN_IMAGES_JS = """
(async () => {
  const imgs = Array.from(document.images);
  imgs.forEach(i => { if (i.loading === 'lazy') i.loading = 'eager'; });
  const settle = Promise.all(imgs.map(i => i.complete ? null
      : new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); })));
  await Promise.race([settle, new Promise(r => setTimeout(r, 5000))]);
  return imgs.filter(i => !i.complete || i.naturalWidth === 0)
             .map(i => (i.getAttribute('src') || i.currentSrc || '(no src)').slice(0, 120));
})()
"""


class BrowserError(RuntimeError):
    """The browser could not be started or stopped answering."""


def find_chromium() -> str | None:
    """$CHROMIUM / $CHROME if set, else the first Chromium/Chrome on PATH, else None."""
    for var in ("CHROMIUM", "CHROME"):
        if os.environ.get(var):
            return shutil.which(os.environ[var]) or (
                os.environ[var] if Path(os.environ[var]).is_file() else None
            )
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageResult:
    path: Path
    url: str
    broken_images: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    remote_requests: list[str] = field(default_factory=list)
    static: list[str] = field(default_factory=list)  # maskutils.publish.html.check_offline problems
    warnings: list[str] = field(
        default_factory=list
    )  # shown, not failing: stderr blocks a reader sees
    errors: list[str] = field(
        default_factory=list
    )  # the check itself failed (timeout, missing file)
    screenshot: Path | None = None
    seconds: float = 0.0

    @property
    def problems(self) -> list[str]:
        return (
            [f"broken image: {x}" for x in self.broken_images]
            + [f"console error: {x}" for x in self.console_errors]
            + [f"uncaught exception: {x}" for x in self.exceptions]
            + [f"browser log error: {x}" for x in self.log_errors]
            + [f"network request: {x}" for x in self.remote_requests]
            + [f"static check: {x}" for x in self.static]
            + [f"check failed: {x}" for x in self.errors]
        )

    @property
    def ok(self) -> bool:
        return not self.problems


class Chromium:
    """A headless Chromium and one DevTools websocket to it; use as a context manager (always
    killed)."""

    def __init__(
        self,
        binary: str | None = None,
        timeout: float = 20.0,
        window: tuple[int, int] = (1280, 900),
    ):
        self.binary = binary or find_chromium()
        if not self.binary:
            raise BrowserError(INSTALL_HINT)
        self.timeout, self.window = timeout, window
        self.proc: subprocess.Popen | None = None
        self.ws = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._id = 0
        self._events: list[dict] = []

    # -- lifecycle
    def __enter__(self) -> "Chromium":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self) -> None:
        try:
            import websocket  # websocket-client
        except ImportError as exc:
            raise BrowserError(
                "the browser check needs the websocket-client package (pip install "
                "websocket-client)"
            ) from exc
        self._tmp = tempfile.TemporaryDirectory(prefix="maskutils-chromium-")
        tmp = Path(self._tmp.name)
        args = [
            self.binary,
            "--headless=new",
            "--remote-debugging-port=0",
            f"--user-data-dir={tmp / 'profile'}",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--mute-audio",
            "--hide-scrollbars",
            f"--window-size={self.window[0]},{self.window[1]}",
            "about:blank",
        ]
        self._log = open(tmp / "chromium.log", "wb")
        self.proc = subprocess.Popen(
            args,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # own process group: close() kills every child
        port_file = tmp / "profile" / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while True:
            if port_file.is_file():
                lines = port_file.read_text().split()
                if len(lines) >= 2:
                    break
            if self.proc.poll() is not None:
                raise BrowserError(
                    f"{self.binary} exited with status {self.proc.returncode}: {self._log_tail()}"
                )
            if time.monotonic() > deadline:
                raise BrowserError(
                    f"{self.binary} did not open its DevTools port within {self.timeout:.0f} s: "
                    f"{self._log_tail()}"
                )
            time.sleep(0.05)
        port, path = lines[0], lines[1]
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:{port}{path}", timeout=self.timeout, suppress_origin=True
        )

    def _log_tail(self, n: int = 600) -> str:
        try:
            self._log.flush()
            text = (Path(self._tmp.name) / "chromium.log").read_text(errors="replace")
        except (OSError, AttributeError):
            return ""
        return text[-n:].strip()

    def close(self) -> None:
        if self.ws is not None:
            try:
                self.ws.settimeout(2)
                self._send("Browser.close")
            except Exception:  # noqa: BLE001 - it is going away anyway
                pass
            try:
                self.ws.close()
            except Exception:  # noqa: BLE001
                pass
            self.ws = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                pass
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(
                        self.proc.pid, sig
                    )  # the group this Popen started (renderers, zygote, gpu)
                except (ProcessLookupError, PermissionError):
                    break
                try:
                    self.proc.wait(timeout=3)
                    if sig == signal.SIGTERM:
                        time.sleep(0.1)
                except subprocess.TimeoutExpired:
                    continue
            self.proc = None
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    # -- protocol
    def _send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        return self._id

    def _recv(self, deadline: float) -> dict:
        import websocket

        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        self.ws.settimeout(left)
        try:
            return json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException as exc:
            raise TimeoutError from exc

    def call(
        self,
        method: str,
        params: dict | None = None,
        session: str | None = None,
        timeout: float | None = None,
    ) -> dict:
        """Send one command and wait for its answer (events meanwhile are queued)."""
        msg_id = self._send(method, params, session)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                msg = self._recv(deadline)
            except TimeoutError:
                raise TimeoutError(
                    f"{method}: no answer within {timeout or self.timeout:.0f} s"
                ) from None
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise BrowserError(f"{method}: {msg['error'].get('message')}")
                return msg.get("result", {})
            if "method" in msg:
                self._events.append(msg)

    def events_until(self, session: str, done, deadline: float) -> None:
        """Queue events until done(event) is true for one of `session` or the deadline passes
        (TimeoutError)."""
        for ev in self._events:
            if ev.get("sessionId") == session and done(ev):
                return
        while True:
            msg = self._recv(deadline)
            if "method" in msg:
                self._events.append(msg)
                if msg.get("sessionId") == session and done(msg):
                    return

    def drain(self, seconds: float) -> None:
        """Queue whatever events arrive in the next `seconds`."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                msg = self._recv(deadline)
                if "method" in msg:
                    self._events.append(msg)
        except TimeoutError:
            pass

    # -- one page
    def check(
        self,
        path: str | Path,
        screenshot: str | Path | None = None,
        timeout: float = 30.0,
        full_page: bool = True,
        max_height: int = 12000,
    ) -> PageResult:
        """Load one local HTML file and collect everything broken about it (see PageResult)."""
        path = Path(path).resolve()
        result = PageResult(path, path.as_uri())
        t0 = time.monotonic()
        if not path.is_file():
            result.errors.append(f"{path} not found")
            return result
        deadline = t0 + timeout
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = None
        try:
            session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
                "sessionId"
            ]
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.call(f"{domain}.enable", session=session)
            self.call("Network.setBlockedURLs", {"urls": BLOCKED}, session=session)
            self.call(
                "Emulation.setDeviceMetricsOverride",
                {
                    "width": self.window[0],
                    "height": self.window[1],
                    "deviceScaleFactor": 1,
                    "mobile": False,
                },
                session=session,
            )
            self._events = [e for e in self._events if e.get("sessionId") != session]
            nav = self.call("Page.navigate", {"url": result.url}, session=session)
            if nav.get("errorText"):
                result.errors.append(f"navigation failed: {nav['errorText']}")
            else:
                try:
                    self.events_until(
                        session, lambda e: e["method"] == "Page.loadEventFired", deadline
                    )
                except TimeoutError:
                    result.errors.append(f"page did not finish loading within {timeout:.0f} s")
                left = max(1.0, deadline - time.monotonic())
                try:
                    res = self.call(
                        "Runtime.evaluate",
                        {
                            "expression": _BROKEN_IMAGES_JS,
                            "awaitPromise": True,
                            "returnByValue": True,
                        },
                        session=session,
                        timeout=left,
                    )
                    result.broken_images = list(res.get("result", {}).get("value") or [])
                    if "exceptionDetails" in res:
                        result.errors.append(
                            f"image check script failed: {_exception_text(res['exceptionDetails'])}"
                        )
                except TimeoutError as exc:
                    result.errors.append(str(exc))
                self.drain(0.3)  # late console messages and requests
                if screenshot is not None:
                    try:
                        result.screenshot = self._screenshot(
                            session,
                            Path(screenshot),
                            full_page,
                            max_height,
                            max(5.0, deadline - time.monotonic()),
                        )
                    except (TimeoutError, BrowserError) as exc:
                        result.errors.append(f"screenshot failed: {exc}")
            self._collect(session, result)
        finally:
            try:
                self.call("Target.closeTarget", {"targetId": target}, timeout=5)
            except (TimeoutError, BrowserError):
                pass
            self._events = [e for e in self._events if e.get("sessionId") != session]
        result.seconds = time.monotonic() - t0
        return result

    def _screenshot(
        self, session: str, out: Path, full_page: bool, max_height: int, timeout: float
    ) -> Path:
        params = {"format": "png"}
        if full_page:
            m = self.call("Page.getLayoutMetrics", session=session)
            size = m.get("cssContentSize") or m.get("contentSize")
            width = max(self.window[0], int(size["width"]))
            height = min(max(1, int(size["height"])), max_height)
            params.update(
                captureBeyondViewport=True,
                clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
            )
        data = self.call("Page.captureScreenshot", params, session=session, timeout=timeout)["data"]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(base64.b64decode(data))
        return out

    def _collect(self, session: str, r: PageResult) -> None:
        for ev in self._events:
            if ev.get("sessionId") != session:
                continue
            m, p = ev["method"], ev.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                r.console_errors.append(" ".join(_remote_object_text(a) for a in p.get("args", [])))
            elif m == "Runtime.exceptionThrown":
                r.exceptions.append(_exception_text(p.get("exceptionDetails", {})))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                e = p["entry"]
                r.log_errors.append(
                    f"{e.get('text', '')}" + (f" ({e['url'][:120]})" if e.get("url") else "")
                )
            elif m == "Network.requestWillBeSent":
                url = p.get("request", {}).get("url", "")
                if not url.lower().startswith(LOCAL_URL_SCHEMES):
                    r.remote_requests.append(url[:200])


def _remote_object_text(obj: dict) -> str:
    if "value" in obj:
        return str(obj["value"])
    return str(obj.get("description") or obj.get("unserializableValue") or obj.get("type", ""))


def _exception_text(d: dict) -> str:
    exc = d.get("exception") or {}
    text = exc.get("description") or d.get("text") or "exception"
    where = f" at line {d['lineNumber'] + 1}" if "lineNumber" in d else ""
    return text.splitlines()[0][:300] + where


def default_pages(reports_dir: str | Path = "reports") -> list[Path]:
    """reports_dir/index.html (listed even when missing, so that it fails), every NN_*.html
    beside it and the model card where it exists."""
    reports_dir = Path(reports_dir)
    card = [p for p in [reports_dir / "model_card.html"] if p.is_file()]
    return (
        [reports_dir / "index.html"]
        + sorted(p for p in reports_dir.glob("[0-9][0-9]_*.html"))
        + card
    )


def check_pages(
    pages: list[str | Path],
    screenshots: str | Path | None = None,
    timeout: float = 30.0,
    binary: str | None = None,
    static: bool = True,
    full_page: bool = True,
) -> list[PageResult]:
    """Open each page in one headless Chromium (see Chromium.check); screenshots go to
    screenshots/NAME.png."""
    from maskutils.publish.html import check_offline, stderr_outputs

    results = []
    with Chromium(binary) as browser:
        for page in pages:
            page = Path(page)
            shot = Path(screenshots) / f"{page.stem}.png" if screenshots is not None else None
            try:
                r = browser.check(page, shot, timeout=timeout, full_page=full_page)
            except (TimeoutError, BrowserError, OSError) as exc:
                r = PageResult(
                    page.resolve(), page.resolve().as_uri(), errors=[f"{type(exc).__name__}: {exc}"]
                )
            if static and page.is_file():
                r.static = check_offline(page)
                r.warnings = [
                    f"stderr output shown to the reader: {x}"
                    for x in stderr_outputs(page.read_text(encoding="utf-8", errors="replace"))
                ]
            results.append(r)
    return results


def format_results(results: list[PageResult]) -> str:
    lines = []
    for r in results:
        size = f"{r.path.stat().st_size / 1024:,.0f} KB" if r.path.is_file() else "missing"
        shot = f" -> {r.screenshot}" if r.screenshot else ""
        lines.append(
            f"{'PASS' if r.ok else 'FAIL'}  {r.path.name}  ({size}, {r.seconds:.1f} s){shot}"
        )
        lines += [f"      - {p}" for p in r.problems]
        lines += [f"      ~ warning: {w}" for w in r.warnings]
    failed = sum(not r.ok for r in results)
    lines.append(
        f"{len(results) - failed} of {len(results)} pages pass"
        + (f"; {failed} FAIL" if failed else "")
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="maskutils check-reports", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "pages",
        nargs="*",
        default=["reports"],
        help="HTML files, or folders (their index.html, NN_*.html and model_card.html); "
        "default: reports",
    )
    parser.add_argument(
        "--screenshots", default="reports/screenshots", help="folder for NAME.png ('' for none)"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per page")
    parser.add_argument(
        "--viewport-only", action="store_true", help="screenshot the first screen, not the page"
    )
    args = parser.parse_args(argv)
    pages: list[Path] = []
    for p in map(Path, args.pages):
        pages += default_pages(p) if p.is_dir() else [p]
    if not pages:
        print("check-reports: nothing to check", file=sys.stderr)
        return 2
    if not find_chromium():
        print(f"check-reports: error: {INSTALL_HINT}", file=sys.stderr)
        return 2
    try:
        results = check_pages(
            pages, args.screenshots or None, args.timeout, full_page=not args.viewport_only
        )
    except BrowserError as exc:
        print(f"check-reports: error: {exc}", file=sys.stderr)
        return 2
    print(format_results(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
