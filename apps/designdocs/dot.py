"""The diagram languages: Graphviz DOT and an arrow shorthand, read strictly and written anew.

Graphviz can read files named in a graph (``image``, ``shapefile``, ``fontpath``,
``imagepath``, ``stylesheet`` …) and writes links (``URL``, ``href``) into its SVG. So a diagram
never reaches Graphviz as typed: both notations are parsed here into a small tree, every
attribute is checked against an allowlist of names *and* values, and the DOT that Graphviz gets
is written from that tree, every name quoted. Constructs this parser does not know (HTML-like
``<…>`` labels, attributes outside the list) are refused with a message naming the line.

The shorthand is one chain a line, ``client -> load balancer -> ranker [label="top 500"]``:
names may hold spaces, attributes in brackets apply to the line's edges (or to the node when the
line has no arrow), ``rankdir = LR`` sets a graph attribute, and ``#`` starts a comment line.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

MAX_NODES = 200
MAX_EDGES = 400
MAX_STRING = 1_000  # characters in one name or label
MAX_DEPTH = 8  # subgraphs inside subgraphs


class DiagramError(ValueError):
    """Why a diagram cannot be drawn, worded for the person who wrote it."""


# --- Attributes ------------------------------------------------------------------------------

_COLOR = re.compile(r"#[0-9a-fA-F]{6}(?:[0-9a-fA-F]{2})?|[a-zA-Z]{1,30}[0-9]{0,3}")
_SHAPES = {
    "box", "rect", "rectangle", "square", "ellipse", "oval", "circle", "doublecircle", "point",
    "plaintext", "plain", "none", "note", "tab", "folder", "box3d", "component", "cylinder",
    "diamond", "hexagon", "octagon", "pentagon", "septagon", "doubleoctagon", "parallelogram",
    "trapezium", "invtrapezium", "triangle", "invtriangle", "house", "invhouse", "egg", "star",
    "underline", "cds", "larrow", "rarrow", "record", "Mrecord", "Mdiamond", "Msquare", "Mcircle",
}  # fmt: skip
_STYLES = {"solid", "dashed", "dotted", "bold", "rounded", "diagonals", "filled", "invis"}
_FONTS = {
    "Helvetica", "Helvetica-Bold", "Times", "Times-Bold", "Courier", "Courier-Bold",
}  # fmt: skip
_COMPASS = {"n", "ne", "e", "se", "s", "sw", "w", "nw", "c", "_"}


def _text(value: str) -> bool:
    return True  # any text; the tokenizer already refused HTML-like labels


def _color(value: str) -> bool:
    return bool(_COLOR.fullmatch(value))


def _one_of(*choices: str):
    allowed = set(choices)
    return lambda value: value in allowed


def _number(low: float, high: float, *, whole: bool = False):
    def check(value: str) -> bool:
        try:
            number = int(value) if whole else float(value)
        except ValueError:
            return False
        return low <= number <= high

    return check


def _styles(value: str) -> bool:
    return all(part.strip() in _STYLES for part in value.split(","))


_BOOL = _one_of("true", "false")

# name -> (check, what is allowed, for the message)
ATTRIBUTES = {
    "label": (_text, "any text"),
    "xlabel": (_text, "any text"),
    "headlabel": (_text, "any text"),
    "taillabel": (_text, "any text"),
    "color": (_color, "a colour name or #rrggbb"),
    "fillcolor": (_color, "a colour name or #rrggbb"),
    "fontcolor": (_color, "a colour name or #rrggbb"),
    "bgcolor": (_color, "a colour name or #rrggbb"),
    "shape": (
        _SHAPES.__contains__,
        "a shape such as box, ellipse, circle, cylinder, diamond, note or record",
    ),
    "style": (_styles, ", ".join(sorted(_STYLES))),
    "fontname": (_FONTS.__contains__, ", ".join(sorted(_FONTS))),
    "fontsize": (_number(1, 72), "a number from 1 to 72"),
    "penwidth": (_number(0, 10), "a number from 0 to 10"),
    "arrowsize": (_number(0, 5), "a number from 0 to 5"),
    "width": (_number(0, 20), "a number of inches from 0 to 20"),
    "height": (_number(0, 20), "a number of inches from 0 to 20"),
    "ranksep": (_number(0, 10), "a number of inches from 0 to 10"),
    "nodesep": (_number(0, 10), "a number of inches from 0 to 10"),
    "minlen": (_number(0, 10, whole=True), "a whole number from 0 to 10"),
    "weight": (_number(0, 100, whole=True), "a whole number from 0 to 100"),
    "peripheries": (_number(0, 5, whole=True), "a whole number from 0 to 5"),
    "rankdir": (_one_of("TB", "LR", "BT", "RL"), "TB, LR, BT or RL"),
    "rank": (_one_of("same", "min", "max", "source", "sink"), "same, min, max, source or sink"),
    "splines": (
        _one_of("true", "false", "none", "line", "polyline", "curved", "ortho", "spline"),
        "true, false, none, line, polyline, curved, ortho or spline",
    ),
    "dir": (_one_of("forward", "back", "both", "none"), "forward, back, both or none"),
    "arrowhead": (re.compile(r"[a-z]{1,40}").fullmatch, "an arrow name such as normal or vee"),
    "arrowtail": (re.compile(r"[a-z]{1,40}").fullmatch, "an arrow name such as normal or vee"),
    "headport": (_COMPASS.__contains__, "a compass point (n, ne, e, se, s, sw, w, nw or c)"),
    "tailport": (_COMPASS.__contains__, "a compass point (n, ne, e, se, s, sw, w, nw or c)"),
    "labelloc": (_one_of("t", "b", "c"), "t, b or c"),
    "labeljust": (_one_of("l", "r", "c"), "l, r or c"),
    "ordering": (_one_of("in", "out"), "in or out"),
    "compound": (_BOOL, "true or false"),
    "concentrate": (_BOOL, "true or false"),
    "constraint": (_BOOL, "true or false"),
    "fixedsize": (_BOOL, "true or false"),
    "newrank": (_BOOL, "true or false"),
    "group": (re.compile(r"[\w -]{1,60}").fullmatch, "a short name"),
    "lhead": (_text, "a cluster's name"),
    "ltail": (_text, "a cluster's name"),
}

# Refused with a reason of their own: they read files, link elsewhere or mark up the SVG.
_DANGEROUS = {
    "image", "imagepath", "imagescale", "imagepos", "shapefile", "fontpath", "fontnames",
    "stylesheet", "url", "href", "target", "tooltip", "id", "class", "comment", "charset",
    "labelurl", "labelhref", "labeltarget", "labeltooltip", "headurl", "headhref", "headtarget",
    "headtooltip", "tailurl", "tailhref", "tailtarget", "tailtooltip", "edgeurl", "edgehref",
    "edgetarget", "edgetooltip", "layout", "sides", "distortion", "skew",
}  # fmt: skip


def check_attribute(name: str, value: str, line: int) -> None:
    """Refuse an attribute outside the allowlist, or a value outside what it allows."""
    rule = ATTRIBUTES.get(name)
    if rule is None:
        if name.lower() in _DANGEROUS:
            raise DiagramError(
                f"Line {line}: the attribute “{name}” is not allowed: diagrams may not read "
                "files, link elsewhere or add markup. The attributes you can use are listed "
                "under the field."
            )
        raise DiagramError(
            f"Line {line}: “{_shown(name)}” is not an attribute diagrams here can use. The "
            "attributes you can use are listed under the field."
        )
    check, allowed = rule
    if not check(value):
        raise DiagramError(f"Line {line}: {name} cannot be “{_shown(value)}”; use {allowed}.")


def _shown(text: str) -> str:
    return text if len(text) <= 40 else text[:39] + "…"


# --- The tree both notations become ------------------------------------------------------------


@dataclass
class Attr:
    name: str
    value: str


@dataclass
class Node:
    name: str
    port: list[str] = field(default_factory=list)


@dataclass
class NodeStmt:
    node: Node
    attrs: list[Attr]


@dataclass
class EdgeStmt:
    ends: list  # of Node and Subgraph
    attrs: list[Attr]


@dataclass
class AttrStmt:
    target: str  # graph | node | edge
    attrs: list[Attr]


@dataclass
class Subgraph:
    name: str | None
    stmts: list


@dataclass
class Graph:
    strict: bool
    directed: bool
    stmts: list

    def to_dot(self) -> str:
        """The graph as DOT written from the tree: every name quoted, defaults first."""
        kind = "digraph" if self.directed else "graph"
        lines = [f"{'strict ' if self.strict else ''}{kind} {{", *_DEFAULTS]
        lines += _statements(self.stmts, " -> " if self.directed else " -- ", 1)
        return "\n".join([*lines, "}"]) + "\n"


# Before the writer's own statements, so theirs win.
_DEFAULTS = [
    '  graph [fontname="Helvetica", fontsize="12"];',
    '  node [fontname="Helvetica", fontsize="12"];',
    '  edge [fontname="Helvetica", fontsize="10"];',
]


def quote(text: str) -> str:
    """``text`` as a DOT string that reads back as exactly ``text``."""
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", text).replace('"', '\\"')
    # A closing quote after a backslash would read as an escaped quote.
    return f'"{text} "' if text.endswith("\\") else f'"{text}"'


def _attrs(attrs: list[Attr]) -> str:
    return "[" + ", ".join(f"{quote(a.name)}={quote(a.value)}" for a in attrs) + "]"


def _end(end, edgeop: str, depth: int) -> str:
    if isinstance(end, Subgraph):
        inner = _statements(end.stmts, edgeop, depth + 1)
        name = f"subgraph {quote(end.name)} " if end.name is not None else ""
        return "\n".join([f"{name}{{", *inner, "  " * depth + "}"])
    return ":".join(quote(part) for part in [end.name, *end.port])


def _statements(stmts: list, edgeop: str, depth: int) -> list[str]:
    pad = "  " * depth
    out = []
    for stmt in stmts:
        if isinstance(stmt, AttrStmt):
            out.append(f"{pad}{stmt.target} {_attrs(stmt.attrs)};")
        elif isinstance(stmt, NodeStmt):
            attrs = f" {_attrs(stmt.attrs)}" if stmt.attrs else ""
            out.append(f"{pad}{_end(stmt.node, edgeop, depth)}{attrs};")
        elif isinstance(stmt, EdgeStmt):
            attrs = f" {_attrs(stmt.attrs)}" if stmt.attrs else ""
            chain = edgeop.join(_end(end, edgeop, depth) for end in stmt.ends)
            out.append(f"{pad}{chain}{attrs};")
        else:
            out.append(f"{pad}{_end(stmt, edgeop, depth)}")
    return out


# --- Tokens ------------------------------------------------------------------------------------


@dataclass
class Token:
    kind: str  # id | punct | edgeop | end
    text: str
    line: int
    quoted: bool = False


_KEYWORDS = {"strict", "graph", "digraph", "node", "edge", "subgraph"}
# An unquoted name, or a number not run into a name ("2x" is neither).
_ATOM = re.compile(
    r"[A-Za-z_\u0080-\U0010ffff][\w\u0080-\U0010ffff]*"
    r"|-?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?![\w.\u0080-\U0010ffff])"
)
_SPACE = re.compile(r"[ \t\r\f\v]+")


def tokenize(text: str, line: int = 1) -> list[Token]:
    """DOT's tokens, comments dropped; HTML-like labels refused."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        char = text[i]
        if char == "\n":
            line, i, at_line_start = line + 1, i + 1, True
            continue
        if match := _SPACE.match(text, i):
            i = match.end()
            continue
        if char == "#" and at_line_start:  # Graphviz skips C preprocessor lines
            i = _line_end(text, i)
            continue
        at_line_start = False
        if text.startswith("//", i):
            i = _line_end(text, i)
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            if close < 0:
                raise DiagramError(f"Line {line}: a /* comment is never closed with */.")
            line += text.count("\n", i, close)
            i = close + 2
        elif text.startswith(("->", "--"), i):
            tokens.append(Token("edgeop", text[i : i + 2], line))
            i += 2
        elif char in "{}[];,=:+":
            tokens.append(Token("punct", char, line))
            i += 1
        elif char == '"':
            value, end = _quoted(text, i, line)
            tokens.append(Token("id", value, line, quoted=True))
            line += text.count("\n", i, end)
            i = end
        elif char == "<":
            raise DiagramError(
                f"Line {line}: HTML-like labels (<…>) are not allowed; write the label in "
                'double quotes, e.g. label="top 500".'
            )
        elif match := _ATOM.match(text, i):
            tokens.append(Token("id", match.group(), line))
            i = match.end()
        else:
            raise DiagramError(f"Syntax error in line {line} near “{_shown(text[i : i + 10])}”.")
    tokens.append(Token("end", "", line))
    return _joined(tokens)


def _line_end(text: str, i: int) -> int:
    end = text.find("\n", i)
    return len(text) if end < 0 else end


def _quoted(text: str, start: int, line: int) -> tuple[str, int]:
    """A double-quoted string from ``start``: its value and the index after it."""
    out, i = [], start + 1
    while i < len(text):
        char = text[i]
        if char == '"':
            value = "".join(out)
            if len(value) > MAX_STRING:
                raise DiagramError(
                    f"Line {line}: a name or label of {len(value):,} characters; the limit is "
                    f"{MAX_STRING:,}."
                )
            return value, i + 1
        if char == "\\" and text.startswith('"', i + 1):
            out.append('"')
            i += 2
        elif char == "\\" and text.startswith("\n", i + 1):
            i += 2  # a line continued
        else:
            out.append(char)
            i += 1
    raise DiagramError(f'Line {line}: a quoted name or label is never closed with ".')


def _joined(tokens: list[Token]) -> list[Token]:
    """DOT's ``"a" + "b"``: quoted strings joined by ``+`` are one string."""
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        while (
            token.quoted
            and tokens[i + 1].text == "+"
            and tokens[i + 1].kind == "punct"
            and tokens[i + 2].quoted
        ):
            token = Token("id", token.text + tokens[i + 2].text, token.line, quoted=True)
            i += 2
        if token.kind == "punct" and token.text == "+":
            raise DiagramError(f"Syntax error in line {token.line} near “+”.")
        out.append(token)
        i += 1
    return out


# --- DOT ---------------------------------------------------------------------------------------


class _Budget:
    """Counts nodes and edges as they are read; refuses a diagram past the limits."""

    def __init__(self) -> None:
        self.nodes: set[str] = set()
        self.edges = 0

    def node(self, name: str, line: int) -> None:
        self.nodes.add(name)
        if len(self.nodes) > MAX_NODES:
            raise DiagramError(
                f"Line {line}: more than {MAX_NODES} nodes; a diagram here draws at most "
                f"{MAX_NODES}. Split it into several diagrams."
            )

    def edge(self, left, right, line: int) -> None:
        self.edges += _size(left) * _size(right)
        if self.edges > MAX_EDGES:
            raise DiagramError(
                f"Line {line}: more than {MAX_EDGES} edges; a diagram here draws at most "
                f"{MAX_EDGES}. Split it into several diagrams."
            )


def _size(end) -> int:
    """How many nodes an edge end stands for (a subgraph joins all of its nodes)."""
    if isinstance(end, Node):
        return 1
    count = 0
    for stmt in end.stmts:
        if isinstance(stmt, NodeStmt):
            count += 1
        elif isinstance(stmt, EdgeStmt):
            count += sum(_size(e) for e in stmt.ends)
        elif isinstance(stmt, Subgraph):
            count += _size(stmt)
    return max(count, 1)


class _Parser:
    """DOT's grammar (graphviz.org/doc/info/lang.html), within the budget and nesting limit."""

    def __init__(self, tokens: list[Token], budget: _Budget | None = None):
        self.tokens, self.i = tokens, 0
        self.budget = budget or _Budget()
        self.directed = True

    # Reading tokens
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def at(self, punct: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind == "punct" and token.text == punct

    def take(self) -> Token:
        token = self.peek()
        self.i += 1
        return token

    def error(self) -> DiagramError:
        token = self.peek()
        near = "the end" if token.kind == "end" else f"“{_shown(token.text)}”"
        return DiagramError(f"Syntax error in line {token.line} near {near}.")

    def expect(self, punct: str) -> Token:
        if not self.at(punct):
            raise self.error()
        return self.take()

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "id" and not token.quoted and token.text.lower() in words

    def identifier(self) -> Token:
        token = self.peek()
        if token.kind != "id" or (not token.quoted and token.text.lower() in _KEYWORDS):
            raise self.error()
        return self.take()

    # Grammar
    def graph(self) -> Graph:
        strict = self.keyword("strict")
        if strict:
            self.take()
        if not self.keyword("graph", "digraph"):
            raise self.error()
        self.directed = self.take().text.lower() == "digraph"
        if self.peek().kind == "id":
            self.identifier()  # the graph's name: not needed in the SVG
        self.expect("{")
        stmts = self.statements(depth=0)
        self.expect("}")
        if self.peek().kind != "end":
            raise DiagramError(
                f"Line {self.peek().line}: one graph per diagram; text follows its closing }}."
            )
        return Graph(strict, self.directed, stmts)

    def statements(self, depth: int) -> list:
        stmts = []
        while not self.at("}") and self.peek().kind != "end":
            stmts.append(self.statement(depth))
            if self.at(";"):
                self.take()
        return stmts

    def statement(self, depth: int):
        if self.keyword("graph", "node", "edge") and self.at("[", 1):
            target = self.take().text.lower()
            return AttrStmt(target, self.attr_lists())
        if self.peek().kind == "id" and self.at("=", 1):
            return AttrStmt("graph", [self.attribute()])
        first = self.end(depth)
        if self.peek().kind == "edgeop":
            return self.edges_from(first, depth)
        if isinstance(first, Subgraph):
            return first
        return NodeStmt(first, self.attr_lists())

    def end(self, depth: int):
        """A node (with its port) or a subgraph: what an edge may join."""
        if self.keyword("subgraph") or self.at("{"):
            return self.subgraph(depth)
        name = self.identifier()
        node = Node(name.text)
        while self.at(":") and len(node.port) < 2:
            self.take()
            node.port.append(self.identifier().text)
        self.budget.node(name.text, name.line)
        return node

    def subgraph(self, depth: int) -> Subgraph:
        if depth >= MAX_DEPTH:
            raise DiagramError(
                f"Line {self.peek().line}: subgraphs nest at most {MAX_DEPTH} deep here."
            )
        name = None
        if self.keyword("subgraph"):
            self.take()
            if self.peek().kind == "id":
                name = self.identifier().text
        self.expect("{")
        stmts = self.statements(depth + 1)
        self.expect("}")
        return Subgraph(name, stmts)

    def edges_from(self, first, depth: int) -> EdgeStmt:
        ends = [first]
        while self.peek().kind == "edgeop":
            op = self.take()
            if (op.text == "->") != self.directed:
                kind, wanted = ("digraph", "->") if self.directed else ("graph", "--")
                raise DiagramError(
                    f"Syntax error in line {op.line} near “{op.text}”: a {kind} joins nodes "
                    f"with {wanted}."
                )
            ends.append(self.end(depth))
            self.budget.edge(ends[-2], ends[-1], op.line)
        return EdgeStmt(ends, self.attr_lists())

    def attr_lists(self) -> list[Attr]:
        """``[a=b, c=d][e=f]``, each attribute checked; none when no bracket follows."""
        attrs: list[Attr] = []
        while self.at("["):
            self.take()
            while not self.at("]"):
                attrs.append(self.attribute())
                if self.at(",") or self.at(";"):
                    self.take()
            self.take()
        return attrs

    def attribute(self) -> Attr:
        name = self.identifier()
        self.expect("=")
        value = self.identifier()
        check_attribute(name.text, value.text, name.line)
        return Attr(name.text, value.text)


def parse_dot(text: str) -> Graph:
    """Read DOT strictly; raise DiagramError with the line of the first problem."""
    return _Parser(tokenize(text)).graph()


# --- The arrow shorthand -----------------------------------------------------------------------

_SHORTHAND_DEFAULTS = [AttrStmt("node", [Attr("shape", "box"), Attr("style", "rounded")])]
_GRAPH_ATTRIBUTE = re.compile(r"([A-Za-z_]\w*)\s*=\s*(\S.*)")


def parse_arrows(text: str) -> Graph:
    """Read the arrow shorthand into the same tree as DOT (a directed graph)."""
    budget = _Budget()
    stmts: list = list(_SHORTHAND_DEFAULTS)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "->" not in line and "[" not in line and (match := _GRAPH_ATTRIBUTE.fullmatch(line)):
            name, value = match.group(1), match.group(2).strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            check_attribute(name, value, number)
            stmts.append(AttrStmt("graph", [Attr(name, value)]))
            continue
        names, attrs = _arrow_line(line, number, budget)
        ends = [Node(name) for name in names]
        for name in names:
            budget.node(name, number)
        for left, right in itertools.pairwise(ends):
            budget.edge(left, right, number)
        stmts.append(EdgeStmt(ends, attrs) if len(ends) > 1 else NodeStmt(ends[0], attrs))
    return Graph(strict=False, directed=True, stmts=stmts)


def _arrow_line(line: str, number: int, budget: _Budget) -> tuple[list[str], list[Attr]]:
    """``a -> b c -> "d" [label="x"]``: the names in order and the bracketed attributes."""
    names, i = [], 0
    while True:
        name, i = _arrow_name(line, i, number)
        names.append(name)
        rest = line[i:].lstrip()
        i = len(line) - len(rest)
        if rest.startswith("->"):
            i += 2
        elif not rest:
            return names, []
        elif rest.startswith("["):
            parser = _Parser(tokenize(rest, number), budget)
            attrs = parser.attr_lists()
            if parser.peek().kind != "end":
                raise parser.error()
            return names, attrs
        else:
            raise DiagramError(f"Syntax error in line {number} near “{_shown(rest)}”.")


def _arrow_name(line: str, i: int, number: int) -> tuple[str, int]:
    rest = line[i:].lstrip()
    i = len(line) - len(rest)
    if rest.startswith('"'):
        return _quoted(line, i, number)
    end = min((p for p in (line.find("->", i), line.find("[", i)) if p >= 0), default=len(line))
    name = " ".join(line[i:end].split())
    if not name:
        where = "before “->”" if line.startswith("->", end) else "after “->”"
        raise DiagramError(f"Line {number}: a name is missing {where}.")
    if len(name) > MAX_STRING:
        raise DiagramError(
            f"Line {number}: a name of {len(name):,} characters; the limit is {MAX_STRING:,}."
        )
    return name, end


# --- Either notation ---------------------------------------------------------------------------

ARROWS, DOT = "arrows", "dot"
_DOT_START = re.compile(r'(?:strict\s+)?(?:di)?graph\s*(?:"[^"\n]*"|[\w.]+)?\s*\{', re.IGNORECASE)
_LEADING_COMMENTS = re.compile(r"(?:\s+|//[^\n]*|#[^\n]*|/\*.*?\*/)*", re.DOTALL)


def notation_of(text: str) -> str:
    """DOT when the text opens a graph (``digraph {``, ``graph name {``), else the shorthand."""
    start = _LEADING_COMMENTS.match(text).end()
    return DOT if _DOT_START.match(text, start) else ARROWS


def compile_source(text: str) -> tuple[str, str]:
    """The notation of ``text`` and the checked DOT written from it; DiagramError if refused."""
    notation = notation_of(text)
    graph = parse_dot(text) if notation == DOT else parse_arrows(text)
    return notation, graph.to_dot()
