"""Architecture diagrams drawn on the server: checked DOT through Graphviz, the SVG cleaned.

The text is first read by ``dot.py`` (allowlisted attributes, no HTML labels, size limits) and
Graphviz gets only the DOT written from that reading. Graphviz then runs as a separate process
with limits on time, CPU, memory and output, in an empty directory, in its safe mode (with
``SERVER_NAME`` set and no ``GV_FILE_PATH`` it loads no files at all). What it draws is parsed
as XML and rebuilt from an allowlist of SVG elements and attributes, so no script, event
handler, link, image or foreign content can reach a page, whatever Graphviz wrote.
"""

from __future__ import annotations

import hashlib
import re
import resource
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from django.core.cache import cache

from apps.designdocs.dot import ARROWS, DiagramError, compile_source, notation_of

TIME_LIMIT = 2.0  # seconds of wall time for one drawing
CPU_LIMIT = 2  # seconds
MEMORY_LIMIT = 256 * 2**20  # bytes of address space
OUTPUT_LIMIT = 2 * 2**20  # bytes of SVG
CACHE_SECONDS = 10 * 60
# Graphviz's safe mode: with SERVER_NAME set and GV_FILE_PATH unset it reads no files.
_ENVIRONMENT = {"PATH": "/usr/bin:/bin", "SERVER_NAME": "mlsd-handbook"}


@dataclass(frozen=True)
class Rendering:
    notation: str  # dot.ARROWS or dot.DOT
    svg: str  # "" when nothing could be drawn
    error: str  # why, in words for the writer; "" when drawn (or when there is no text)


#: The longest diagram text kept, and drawn: Graphviz and our parser's work grow with it.
DIAGRAM_MAX_CHARS = 20_000


def draw(source: str) -> Rendering:
    """Draw ``source`` (DOT or the arrow shorthand) as clean SVG, or say why it cannot be."""
    if len(source) > DIAGRAM_MAX_CHARS:  # before any parsing: a refused save is shown too
        message = (
            f"Not drawn: this diagram is {len(source):,} characters and the limit is "
            f"{DIAGRAM_MAX_CHARS:,}."
        )
        return Rendering(notation_of(source), "", message)
    if not source.strip():
        return Rendering(ARROWS, "", "")
    key = "diagram-svg:" + hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
    if cached := cache.get(key):
        return cached
    try:
        notation, dot = compile_source(source)
        rendering = Rendering(notation, clean_svg(run_graphviz(dot)), "")
    except DiagramError as error:
        return Rendering(notation_of(source), "", str(error))
    cache.set(key, rendering, CACHE_SECONDS)
    return rendering


# --- Graphviz ----------------------------------------------------------------------------------


def _limit(kind: int, value: int) -> None:
    _, hard = resource.getrlimit(kind)
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    resource.setrlimit(kind, (value, value))


def _limits() -> None:
    # Runs in the child between fork and exec: only system calls, nothing that takes a lock.
    _limit(resource.RLIMIT_CPU, CPU_LIMIT)
    _limit(resource.RLIMIT_AS, MEMORY_LIMIT)
    _limit(resource.RLIMIT_FSIZE, OUTPUT_LIMIT)  # the SVG goes to a file, so this caps it
    _limit(resource.RLIMIT_CORE, 0)


def run_graphviz(dot: str) -> bytes:
    """Graphviz's SVG for ``dot`` (already checked), within the limits; DiagramError if not."""
    binary = shutil.which("dot")  # on the server's own PATH (make graphviz installs it)
    if binary is None:
        raise DiagramError(
            "Diagrams cannot be drawn right now: Graphviz is not installed on the server. "
            "Your text is kept."
        )
    with tempfile.TemporaryDirectory(prefix="mlsd-dot-") as workdir:
        output = Path(workdir) / "diagram.svg"
        with output.open("wb") as svg:
            try:
                finished = subprocess.run(
                    [binary, "-Tsvg"],
                    input=dot.encode("utf-8"),
                    stdout=svg,
                    stderr=subprocess.PIPE,
                    cwd=workdir,
                    env=_ENVIRONMENT,
                    timeout=TIME_LIMIT,
                    preexec_fn=_limits,  # see _limits
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise DiagramError(_TOO_SLOW) from None
        if finished.returncode != 0:
            raise DiagramError(_failure(finished.returncode, finished.stderr))
        return output.read_bytes()


_TOO_SLOW = (
    f"Graphviz took more than {TIME_LIMIT:g} seconds to lay this diagram out, so it was "
    "stopped. Fewer nodes or edges draw faster (so does splines other than ortho)."
)


def _failure(returncode: int, stderr: bytes) -> str:
    """Graphviz's own message when it gave one, else what stopped it."""
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return _TOO_SLOW
    if returncode == -signal.SIGXFSZ:
        return (
            f"The drawing passed {OUTPUT_LIMIT // 2**20} MB of SVG, so it was stopped. "
            "Split the diagram into smaller ones."
        )
    lines = stderr.decode("utf-8", "replace").splitlines()
    errors = [line for line in lines if line.startswith("Error:")] or lines
    message = " ".join(
        line.removeprefix("Error:").replace("<stdin>:", "").strip() for line in errors
    )
    message = message.strip() or "Graphviz stopped without saying why"
    if len(message) > 500:
        message = message[:499] + "…"
    return f"Graphviz: {message}"


# --- SVG -----------------------------------------------------------------------------------------

_SVG_NS = "{http://www.w3.org/2000/svg}"
_ELEMENTS = {"svg", "g", "title", "polygon", "polyline", "path", "ellipse", "circle", "rect",
             "line", "text"}  # fmt: skip
_UNWRAPPED = {"a"}  # a link's drawing stays, the link goes
_WITH_TEXT = {"title", "text"}
_NUMBERS = re.compile(r"[-+0-9.,eE ]{0,20000}")
_LENGTH = re.compile(r"[0-9.]{1,12}(?:pt|px)?")
_PATH = re.compile(r"[MmLlHhVvCcSsQqTtAaZz0-9.,eE +-]{0,200000}")
_PAINT = re.compile(r"none|transparent|#[0-9a-fA-F]{3,8}|[a-zA-Z]{1,30}")
_TRANSFORM = re.compile(r"(?:\s*(?:scale|rotate|translate)\([-0-9.eE ,]{0,60}\))*\s*")
_ATTRIBUTES = {
    "width": _LENGTH, "height": _LENGTH, "viewBox": _NUMBERS, "points": _NUMBERS, "d": _PATH,
    "cx": _NUMBERS, "cy": _NUMBERS, "rx": _NUMBERS, "ry": _NUMBERS, "r": _NUMBERS,
    "x": _NUMBERS, "y": _NUMBERS, "x1": _NUMBERS, "y1": _NUMBERS, "x2": _NUMBERS, "y2": _NUMBERS,
    "fill": _PAINT, "stroke": _PAINT, "stroke-width": _NUMBERS, "stroke-dasharray": _NUMBERS,
    "fill-opacity": _NUMBERS, "stroke-opacity": _NUMBERS, "transform": _TRANSFORM,
    "text-anchor": re.compile(r"start|middle|end"),
    "font-family": re.compile(r"[A-Za-z ,-]{1,80}"),
    "font-size": _NUMBERS,
    "font-weight": re.compile(r"bold|normal|[1-9]00"),
    "font-style": re.compile(r"italic|oblique|normal"),
    "text-decoration": re.compile(r"underline|overline|line-through"),
    "class": re.compile(r"[a-z]{1,20}(?: [a-z]{1,20}){0,3}"),
}  # fmt: skip
# Graphviz passes "&name;" in a label through as an entity; XML knows only five names.
_STRAY_AMPERSAND = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});)")


def clean_svg(data: bytes) -> str:
    """Graphviz's SVG rebuilt from an allowlist: shapes, text and titles, nothing active."""
    try:
        root = ElementTree.fromstring(_STRAY_AMPERSAND.sub(b"&amp;", data))
    except ElementTree.ParseError as error:
        raise DiagramError(f"Graphviz's drawing could not be read back ({error}).") from None
    if root.tag != f"{_SVG_NS}svg":
        raise DiagramError("Graphviz did not draw an SVG picture.")
    (clean,) = _copy(root)
    clean.set("xmlns", _SVG_NS.strip("{}"))
    return ElementTree.tostring(clean, encoding="unicode")


def _copy(element: ElementTree.Element) -> list[ElementTree.Element]:
    tag = element.tag if isinstance(element.tag, str) else ""
    name = tag.removeprefix(_SVG_NS) if tag.startswith(_SVG_NS) else ""
    if name in _UNWRAPPED:
        return [copy for child in element for copy in _copy(child)]
    if name not in _ELEMENTS:
        return []  # script, style, image, foreignObject … with everything inside them
    attributes = {
        key: value
        for key, value in element.attrib.items()
        if key in _ATTRIBUTES and _ATTRIBUTES[key].fullmatch(value)
    }
    clean = ElementTree.Element(name, attributes)
    clean.text = element.text if name in _WITH_TEXT else None
    clean.tail = "\n"
    for child in element:
        clean.extend(_copy(child))
    if name == "g" and _filled(clean):
        # Text on a filled shape keeps its own colour when the page recolours the rest.
        clean.set("class", f"{clean.get('class', '')} filled".strip())
    return [clean]


def _filled(group: ElementTree.Element) -> bool:
    if not {"node", "cluster"} & set(group.get("class", "").split()):
        return False
    shape = next((child for child in group if child.tag not in _WITH_TEXT), None)
    return shape is not None and shape.get("fill", "none") not in {"none", "transparent"}


# --- Starters ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Starter:
    label: str
    source: str


STARTERS = {
    "": Starter("An empty diagram", ""),
    "retrieval": Starter(
        "Retrieval → ranking → re-ranking",
        """\
# Each stage sees fewer items and may spend more on each one.
user request -> retrieval [label="user and context"]
item index -> retrieval
retrieval -> ranking [label="~1,000 candidates"]
feature store -> ranking
ranking -> re-ranking [label="top 100"]
re-ranking -> response [label="top 20, diversified"]
item index [shape=cylinder]
feature store [shape=cylinder]
""",
    ),
    "features": Starter(
        "Feature pipeline",
        """\
# The same feature definitions feed training (offline) and serving (online).
rankdir = LR
event stream -> stream processor -> online store [label="fresh features"]
data warehouse -> batch jobs -> offline store
batch jobs -> online store [label="materialise"]
offline store -> training data [label="point-in-time join"]
online store -> model server [label="lookup per request"]
online store [shape=cylinder]
offline store [shape=cylinder]
""",
    ),
    "training": Starter(
        "Training and serving",
        """\
# Offline: train, evaluate, register. Online: serve, log, monitor.
logs -> training data -> training -> evaluation -> model registry
model registry -> model server [label="deploy"]
client -> model server [label="request"]
model server -> logs [label="predictions and outcomes"]
model server -> monitoring
logs [shape=cylinder]
model registry [shape=cylinder]
""",
    ),
}
