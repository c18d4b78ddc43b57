#!/usr/bin/env python3
"""Drives mixs' status page in headless Chromium, as a person would, over the DevTools protocol
on a pipe (--remote-debugging-pipe: no WebSocket client needed). The page has no script of its
own; the test's clicks and keys are real input events sent to the browser.

  browser.py text URL               prints the page's visible text (document.body.innerText)
  browser.py dom URL                prints the DOM after load (what --dump-dom prints)
  browser.py set-level URL LEVEL    picks LEVEL in the log-level form, clicks Set, waits for the
                                    page the form leads to, prints its URL and visible text
  browser.py screenshot URL OUT.png [WIDTH HEIGHT]
                                    saves a full-page screenshot
Exit 0 on success; errors go to stderr.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("browser.py: no chromium on PATH (Debian package: chromium)")


class Browser:
    def __init__(self, width=1200, height=900):
        self.profile = tempfile.mkdtemp(prefix="status-page-chromium-")
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        # fd 3: what the browser reads, fd 4: what it writes.
        def fds():
            r, w = os.dup(to_browser_r), os.dup(from_browser_w)  # above 4, whatever they were
            os.dup2(r, 3)  # dup2 makes them inheritable; everything else is close-on-exec
            os.dup2(w, 4)
        self.proc = subprocess.Popen(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-dev-shm-usage", "--remote-debugging-pipe", "--user-data-dir=" + self.profile,
             "--window-size=%d,%d" % (width, height), "about:blank"],
            preexec_fn=fds, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        targets = self.call("Target.getTargets")["targetInfos"]
        page = [t for t in targets if t["type"] == "page"][0]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": page["targetId"], "flatten": True})["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Runtime.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                  session=True)

    def send(self, method, params=None, session=False):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def read(self, timeout=30):
        deadline = time.time() + timeout
        while b"\0" not in self.buf:
            if time.time() > deadline:
                raise TimeoutError("no message from chromium")
            chunk = os.read(self.from_browser, 65536)
            if not chunk:
                raise EOFError("chromium closed its pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=False):
        want = self.send(method, params, session)
        while True:
            msg = self.read()
            if msg.get("id") == want:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method, timeout=30):
        deadline = time.time() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == method:
                    del self.events[i]
                    return e
            if time.time() > deadline:
                raise TimeoutError("no " + method)
            self.events.append(self.read(deadline - time.time()))

    def open(self, url):
        self.events.clear()
        self.call("Page.navigate", {"url": url}, session=True)
        self.wait_event("Page.loadEventFired")

    def eval(self, expression):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                      session=True)
        if "exceptionDetails" in r:
            raise RuntimeError(str(r["exceptionDetails"]))
        return r["result"].get("value")

    def click(self, selector):
        """A real mouse click at the centre of the element."""
        box = self.eval("(() => { const e = document.querySelector(%s); e.scrollIntoView();"
                        " const r = e.getBoundingClientRect();"
                        " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
                        % json.dumps(selector))
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent",
                      {"type": kind, "x": box[0], "y": box[1], "button": "left",
                       "clickCount": 1}, session=True)

    def choose(self, selector, value):
        """Picks an option of a <select> with the keyboard: focus it, type the option's text."""
        self.eval("document.querySelector(%s).focus()" % json.dumps(selector))
        for ch in value:
            self.call("Input.dispatchKeyEvent", {"type": "keyDown", "text": ch}, session=True)
            self.call("Input.dispatchKeyEvent", {"type": "keyUp"}, session=True)
        got = self.eval("document.querySelector(%s).value" % json.dumps(selector))
        if got != value:
            raise RuntimeError("could not pick %r in %s (it shows %r)" % (value, selector, got))

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, url = sys.argv[1], sys.argv[2]
    width, height = 1200, 900
    if cmd == "screenshot" and len(sys.argv) >= 6:
        width, height = int(sys.argv[4]), int(sys.argv[5])
    b = Browser(width, height)
    try:
        b.open(url)
        if cmd == "text":
            print(b.eval("document.body.innerText"))
        elif cmd == "dom":
            print(b.eval("document.documentElement.outerHTML"))
        elif cmd == "set-level":
            b.choose("#level-select", sys.argv[3])
            b.events.clear()
            b.click("#set-level")
            b.wait_event("Page.loadEventFired")
            print(b.eval("location.href"))
            print(b.eval("document.body.innerText"))
        elif cmd == "screenshot":
            height = b.eval("document.documentElement.scrollHeight")
            b.call("Emulation.setDeviceMetricsOverride",
                   {"width": width, "height": max(height, 200), "deviceScaleFactor": 1,
                    "mobile": False}, session=True)
            png = b.call("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
            with open(sys.argv[3], "wb") as f:
                f.write(base64.b64decode(png))
            print(sys.argv[3])
        else:
            sys.exit("browser.py: unknown command " + cmd)
    finally:
        b.close()


if __name__ == "__main__":
    main()
