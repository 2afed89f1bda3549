"""Index lag: how long after an acknowledged autosave its words are found by search.

One signed-in writer of its own saves a text with a fresh made-up word, then asks the search
page for that word every 20 ms until its doc is listed; the time from the save's answer to the
first listing is one sample. Run in a thread beside the autosave load, so the lag is measured
while the task worker has the most to do.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field

from bench import pages

POLL = 0.02
GIVE_UP = 30.0  # seconds: a sample that long is reported as such, not waited for further


@dataclass
class Lag:
    samples: list[float] = field(default_factory=list)  # seconds
    lost: int = 0  # saves never found within GIVE_UP
    errors: list[str] = field(default_factory=list)

    def percentile(self, p: float) -> float:
        if not self.samples:
            return float("nan")
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class LagProbe(threading.Thread):
    def __init__(self, base_url: str, writer: dict, seconds: float):
        super().__init__(daemon=True)
        self.base_url, self.writer, self.seconds = base_url, writer, seconds
        self.version = writer["version"]
        self.result = Lag()

    def _request(self, path: str, data: dict | None = None) -> str:
        headers = {"Cookie": self.writer["cookie"], "X-CSRFToken": self.writer["csrf"]}
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            headers |= {"HX-Request": "true",
                        "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
        request = urllib.request.Request(self.base_url + path, body, headers)
        with urllib.request.urlopen(request, timeout=GIVE_UP) as response:
            return response.read().decode()

    def run(self) -> None:
        deadline = time.monotonic() + self.seconds
        key, doc = pages.PROMPT, self.writer["doc"]
        while time.monotonic() < deadline:
            word = "lagprobe" + uuid.uuid4().hex[:10]
            try:
                saved = self._request(f"/docs/{doc}/answers/{key}/", {
                    key: f"Index lag sample: {word} in a sentence.",
                    f"version_{key}": self.version,
                })  # fmt: skip
            except (urllib.error.URLError, OSError) as exc:
                self.result.errors.append(f"save: {exc}")
                continue
            acknowledged = time.monotonic()
            if seen := re.search(rf'name="version_{key}"[^>]*value="(\d+)"', saved):
                self.version = int(seen.group(1))
            while True:
                try:
                    listed = self._request(f"/search/?{urllib.parse.urlencode({'q': word})}")
                except (urllib.error.URLError, OSError) as exc:
                    self.result.errors.append(f"search: {exc}")
                    listed = ""
                waited = time.monotonic() - acknowledged
                if f'href="/docs/{doc}/"' in listed:
                    self.result.samples.append(waited)
                    break
                if waited > GIVE_UP:
                    self.result.lost += 1
                    break
                time.sleep(POLL)
