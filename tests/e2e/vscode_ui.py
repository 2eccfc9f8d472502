"""Driving the VS Code workbench (code-server in Debian's headless Chromium, through Playwright
with the system browser: nothing is downloaded) the way a user does: keyboard shortcuts, the
command palette, quick open, and reading what the UI shows (status bar, views, widgets).
Every wait is on a selector or a condition with a timeout, never a fixed sleep; a failed step
leaves a screenshot and the page's text in the shots directory."""
from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path
from typing import Callable, Iterator, Optional

from playwright.sync_api import Locator, Page, sync_playwright


MOD = "Control"
WORKBENCH_READY = 60_000      # ms: the workbench is ready 5-7 s after load on an idle machine
STEP = 30_000                 # ms: one UI answer (a hover, a list)


class Workbench:
    """One browser page showing one code-server workbench."""

    def __init__(self, page: Page, shots: Path):
        self.page = page
        self.shots = shots
        self.console: list[str] = []
        page.on("console", lambda msg: self.console.append(f"{msg.type}: {msg.text}"))

    # ------------------------------------------------------------------ lifecycle
    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_selector(".monaco-workbench .part.statusbar", timeout=WORKBENCH_READY)
        self.page.wait_for_selector(".explorer-folders-view, .explorer-viewlet", timeout=WORKBENCH_READY)

    @contextlib.contextmanager
    def step(self, name: str, extra: Callable[[], str] = lambda: "") -> Iterator[None]:
        """Run one check; on failure save a screenshot (and the page text) and name it in the error."""
        try:
            yield
        except BaseException as error:
            self.shots.mkdir(parents=True, exist_ok=True)
            shot = self.shots / f"{re.sub(r'[^A-Za-z0-9_-]+', '-', name)}.png"
            with contextlib.suppress(Exception):
                self.page.screenshot(path=str(shot))
            with contextlib.suppress(Exception):
                (self.shots / f"{shot.stem}.txt").write_text(
                    self.page.inner_text("body") + "\n\n--- console\n" + "\n".join(self.console[-80:])
                    + "\n\n" + extra())
            print(f"\n[{name}] failed; screenshot: {shot}")
            raise AssertionError(f"{name}: {error}\n(screenshot: {shot})") from error

    # ------------------------------------------------------------------ input
    def press(self, *keys: str) -> None:
        for key in keys:
            self.page.keyboard.press(key)

    def type(self, text: str) -> None:
        self.page.keyboard.type(text, delay=20)

    def escape(self) -> None:
        self.page.keyboard.press("Escape")

    def quick_input(self) -> Locator:
        return self.page.locator(".quick-input-widget")

    def _quick_input_open(self, keys: str) -> Locator:
        self.page.keyboard.press(keys)
        box = self.page.locator(".quick-input-widget .quick-input-box input")
        box.wait_for(state="visible", timeout=STEP)
        return box

    def palette_entries(self, query: str) -> list[str]:
        """The command palette's entries for ``query`` (the palette is left closed)."""
        box = self._quick_input_open(f"{MOD}+Shift+P")
        box.fill(">" + query)
        rows = self.page.locator(".quick-input-list .monaco-list-row")
        rows.first.wait_for(timeout=STEP)
        settle(rows)
        labels = [rows.nth(i).get_attribute("aria-label") or rows.nth(i).inner_text() for i in range(rows.count())]
        self.escape()
        return labels

    def run_command(self, title: str) -> None:
        """Run a command by its exact palette title, e.g. ``codeintel: Restart server``."""
        box = self._quick_input_open(f"{MOD}+Shift+P")
        box.fill(">" + title)
        self._enter_on(title.split(": ", 1)[-1])
        self.quick_input().wait_for(state="hidden", timeout=STEP)

    def open_file(self, name: str) -> None:
        box = self._quick_input_open(f"{MOD}+P")
        box.fill(name)
        self._enter_on(name)
        wait_until(lambda: self.active_tab().startswith(name), STEP, f"{name} in the active tab",
                   lambda: self.active_tab())
        self.editor().wait_for(timeout=STEP)

    def _enter_on(self, text: str) -> None:
        """Press Enter once the list's selected row is the one showing ``text`` (not a stale list's)."""
        focused = self.page.locator(".quick-input-list .monaco-list-row.focused", has_text=text)
        focused.first.wait_for(timeout=STEP)
        self.page.keyboard.press("Enter")

    def go_to(self, line: int, column: int) -> None:
        """Put the cursor at a 1-based line and column (Ctrl+G)."""
        box = self._quick_input_open(f"{MOD}+G")
        box.fill(f":{line}:{column}")
        self.page.keyboard.press("Enter")
        self.quick_input().wait_for(state="hidden", timeout=STEP)
        wait_until(lambda: self.cursor() == (line, column), STEP, f"the cursor at {line}:{column}")

    def set_number_setting(self, key: str, value: int, settings_file: Path) -> None:
        """Change a number setting in the Settings editor (Ctrl+,), as a user does, and wait until
        the workbench has written it to ``settings_file`` (the User settings)."""
        self.page.keyboard.press(f"{MOD}+,")
        self.page.locator(".settings-editor").wait_for(timeout=STEP)
        self.page.keyboard.type(key)
        self.page.locator(".settings-editor .settings-count-widget", has_text="1 Setting Found").wait_for(timeout=STEP)
        field = self.page.locator(".settings-editor .setting-item-number input").first
        field.wait_for(timeout=STEP)
        field.fill(str(value))
        field.press("Tab")
        wait_until(lambda: f'"{key}": {value}' in settings_file.read_text(), STEP,
                   f"{key} saved in {settings_file.name}", settings_file.read_text)
        # VS Code 1.139 shows the Settings editor as a modal over the workbench: close it
        modal = self.page.locator(".monaco-modal-editor-block")

        def closed() -> bool:
            if modal.count() and modal.first.is_visible():
                self.page.keyboard.press("Escape")
                return False
            return True

        wait_until(closed, STEP, "the Settings editor closed", poll=0.5)

    # ------------------------------------------------------------------ reading the UI
    def editor(self) -> Locator:
        return self.page.locator(".editor-instance .monaco-editor:not(.inline-diff-editor)").first

    def active_tab(self) -> str:
        """The file name on the active editor group's active tab."""
        tab = self.page.locator(".editor-group-container.active .tab.active").first
        return (tab.get_attribute("aria-label") or tab.inner_text()).strip()

    def cursor(self) -> Optional[tuple[int, int]]:
        """The cursor position the status bar shows ("Ln 3, Col 7")."""
        label = self.page.locator(".statusbar-item", has_text=re.compile(r"Ln \d+, Col \d+"))
        if not label.count():
            return None
        match = re.search(r"Ln (\d+), Col (\d+)", label.first.inner_text())
        return (int(match.group(1)), int(match.group(2))) if match else None

    def status_item(self, text: str) -> Locator:
        return self.page.locator(".part.statusbar .statusbar-item", has_text=text)

    def visible_text(self) -> str:
        """The editor's rendered lines (the whole file, for a small one)."""
        lines = self.editor().locator(".view-lines .view-line").evaluate_all(
            "ls => ls.map(e => [parseFloat(e.style.top) || 0, e.textContent])")
        return "\n".join(text.replace("\u00a0", " ") for _, text in sorted(lines))

def wait_until(condition: Callable[[], object], timeout_ms: int, what: str,
               seen: Optional[Callable[[], object]] = None, poll: float = 0.25):
    """Poll ``condition`` until it is truthy and return its value; a timeout says what was
    awaited and (with ``seen``) what the UI showed instead."""
    deadline = time.monotonic() + timeout_ms / 1000
    last: object = None
    while True:
        last = condition()
        if last:
            return last
        if time.monotonic() > deadline:
            shown = f"; the UI shows {seen()!r}" if seen else ""
            raise TimeoutError(f"timed out after {timeout_ms / 1000:.0f} s waiting for {what}{shown}")
        time.sleep(poll)


def settle(rows: Locator) -> int:
    """Wait until a list shows the same non-zero number of rows three polls running."""
    seen: list[int] = []

    def stable() -> bool:
        seen.append(rows.count())
        return len(seen) >= 3 and seen[-1] > 0 and seen[-1] == seen[-2] == seen[-3]

    wait_until(stable, STEP, "the list to settle")
    return seen[-1]


@contextlib.contextmanager
def browser(executable: str) -> Iterator:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            yield chromium
        finally:
            chromium.close()
