"""Multi-line stack traces, one finding per block: Python, JVM, Go, Node.js, Ruby, PHP, .NET, Rust.

How it stays fast and chunk-independent:

- The engine's prefilter finds the start markers (``KEYWORDS``) over a whole chunk; this module
  touches only the lines holding a marker and, once a block is open, the lines that follow it
  until the block closes. No Python runs on other lines.
- A block is a small line-by-line state machine. Its state (and the last two lines of the
  previous chunk, for a header that stands one line above the first frame) is carried from one
  chunk to the next, so a trace cut by a chunk boundary gives the finding one big chunk gives.
- Log prefixes (timestamp, level, thread, container) are learnt from the block's first line: the
  prefix with its time-like tokens generalised becomes a regex every later line must start with
  (or the line carries no prefix at all). A line with another prefix (another thread) is foreign:
  it neither ends nor joins the block, so interleaved traces stay apart.
- A trace inside one JSON line (``"exc_info": "Traceback…\\n  File…"``) is decoded and parsed
  the same way, and reported on that line.

Messages in ``details`` and the reported first line are masked with a conservative, local,
length-preserving function (e-mails, ``password=``-style values, long mixed tokens, digit runs of
nine or more): the detector only receives block rules, so it cannot run the secret/PII rule set,
and a traceback must never carry a raw value into a report.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from logaudit.engine.model import Hit, LineHits
from logaudit.masking import mask_text
from logaudit.rules import Rule
from logaudit.sources.chunking import Chunk

#: detector name (a rule's ``detector``) → language family it reports.
DETECTOR_LANGS: dict[str, tuple[str, ...]] = {
    "python-traceback": ("python",),
    "jvm-stack-trace": ("java", "kotlin", "scala"),
    "go-panic": ("go",),
    "nodejs-stack-trace": ("nodejs",),
    "ruby-backtrace": ("ruby",),
    "php-stack-trace": ("php",),
    "dotnet-stack-trace": ("dotnet",),
    "rust-panic": ("rust",),
}

#: Start markers, case-insensitive literals for the engine's prefilter.
KEYWORDS = (
    "Traceback (most recent call last)", "Exception in thread", "\tat ", "   at ", "\\tat ",
    "\\n    at ", "goroutine ", "panic: ", "panicked at", "stack backtrace:", "Stack trace:",
    "[stacktrace]", "PHP Fatal error", ":in `", ":in '",
)

ACCEPT, PENDING, REJECT, FOREIGN = 1, 2, 0, 3
MAX_FOREIGN = 32  # consecutive lines of other prefixes (threads) a block waits through
MAX_OPEN = 8
MAX_LIST = 10
MAX_SRC = 12  # source and caret lines under one Python frame (3.11+ adds ~~~^^^ lines)
BACK = 6  # lines looked back for a header (a frame's exception line, past other threads' lines)

# ---------------------------------------------------------------- masking


def _show(b: bytes, limit: int = 200) -> str:
    return mask_text(b.strip()).decode("utf-8", "replace")[:limit]


# ---------------------------------------------------------------- prefixes

_VOLATILE = re.compile(rb"\d+(?:[-/:.,T]\d+)+(?:Z|[+-]\d\d:?\d\d)?|\d{6,}|[ \t]+")


def _prefix_regex(raw: bytes) -> re.Pattern[bytes] | None:
    """A regex matching the same log prefix on another line (times and dates may differ)."""
    if not raw:
        return None
    parts: list[bytes] = [b"^"]
    pos = 0
    for m in _VOLATILE.finditer(raw):
        parts.append(re.escape(raw[pos:m.start()]))
        parts.append(rb"[ \t]+" if m.group(0)[:1] in b" \t" else rb"\d[\dTZ:/.,+-]*")
        pos = m.end()
    parts.append(re.escape(raw[pos:]))
    return re.compile(b"".join(parts))


# ---------------------------------------------------------------- per-language line shapes

_PY_TB = re.compile(rb"Traceback \(most recent call last\):")
# Python 3.11+ exception groups draw their sub-tracebacks inside "|" and "+---" frames.
_PY_GROUP_HEAD = re.compile(rb"\+ Exception Group Traceback \(most recent call last\):")
_PY_GROUP_LINE = re.compile(rb"^(?:\+[-+]*(?: \d+ -+| \.\.\. -+)?|\|) ?")
_PY_FILE = re.compile(rb'^File "([^"]+)", line (\d+)')
_PY_EXC = re.compile(rb"^([A-Za-z_][\w.]*)(?::[ \t]?(.*))?$")
_PY_CHAIN = (b"During handling of the above exception, another exception occurred:",
             b"The above exception was the direct cause of the following exception:")
_PY_MSG_CONT = re.compile(
    rb"^(?:LINE \d+:|\^|\[SQL: |\[parameters: |\(Background on this error at|DETAIL: |HINT: )")

_AT_FRAME = re.compile(rb"(?:\t| {3})at[ \t]+\S")
_AT_HEAD = re.compile(
    rb"(?<![\w$.])((?:[A-Za-z_$][\w$]*\.)+[A-Z][\w$]*|[A-Z]\w*(?:Error|Exception)|Error)"
    rb"(?:[ \t]\[\w+\])?(?::[ \t](.*)|:?[ \t]*$)")
_JVM_HEAD = re.compile(rb'Exception in thread "[^"]*" ')
_JAVA_FRAME = re.compile(
    rb"^([\w$.<>/\[\]~@-]+)\(([\w$.-]+\.(java|kt|kts|scala|groovy|clj|jsp)(?::\d+)?"
    rb"|Native Method|Unknown Source|Unknown|SourceFile(?::\d+)?)\)(?:[ \t]+~?\[[^\]]*\])*$")
_NODE_FRAME = re.compile(
    rb"^(?:async[ \t]+)?(?:new[ \t]+)?(?:(.+?)[ \t]+\()?((?:file://)?[^\s()]+?):(\d+):(\d+)\)?$")
_NODE_SPECIAL = re.compile(rb"\((?:<anonymous>|native|index \d+)\)$|^<anonymous>$")
_DOTNET_FRAME = re.compile(
    rb"^([\w.`<>$|+\[\],]+)\(([^()]*)\)(?:[ \t]+in[ \t]+(.+?):line[ \t]+(\d+))?$")
_JVM_MORE = re.compile(rb"^\.\.\. \d+ (?:more|common frames omitted)")

_GO_PANIC = re.compile(rb"(?:^|[\s\]|:])((?:panic|fatal error): )")
_GO_ROUTINE = re.compile(rb"goroutine \d+ \[[^\]]*\]:[ \t]*$")
_GO_FILE = re.compile(rb"^(\S+\.(?:go|s)):(\d+)(?: \+0x[0-9a-f]+)?$")
_GO_FUNC = re.compile(rb"^[\w.\-/~%*()\[\]]+\(.*\)$|^created by \S+(?: in goroutine \d+)?$")
_GO_PKG = re.compile(rb"^(?:created by )?((?:[\w.\-~%]+/)*[\w\-~%]+)\.")

_RS_HEAD = re.compile(rb"thread '[^']*'(?: \(\d+\))? panicked at ")
_RS_OLD = re.compile(rb"panicked at '(.*)', (\S+?):\d+(?::\d+)?$")
_RS_NEW = re.compile(rb"panicked at (\S+?):\d+(?::\d+)?:?$")
_RS_BT = re.compile(rb"(?i)stack backtrace:[ \t]*$")
_RS_FRAME = re.compile(rb"^\d+:[ \t]+(\S+)")

_RB_FRAME_AT = re.compile(rb"(?:^|[ \t])(?:from[ \t]+)?[^\s:'`][^\s:]*:\d+:in [`']")
_RB_FRAME = re.compile(
    rb"^(?:from[ \t]+)?(?:[\w-]+ \([\w.]+\) )?(\S+?):(\d+):in [`']([^'`]*)'(.*)$")
_RB_TAIL = re.compile(rb"^: (.*) \(([A-Z][\w:]*)\)$")
_RB_HEAD = re.compile(
    rb"(?<![\w:])([A-Z]\w*(?:::[A-Z]\w*)*(?:Error|Exception|Invalid|NotFound|Timeout)\w*)"
    rb"(?: \((.*)\))?:(?:[ \t](.*))?$")

_PHP_FATAL = re.compile(rb"PHP Fatal error: +(.*)$")
_PHP_TRACE = re.compile(rb"(?:^|[ \t\]])((?:PHP )?Stack trace:|\[stacktrace\])[ \t]*$")
_PHP_FRAME = re.compile(rb"^(?:PHP[ \t]+)?#\d+ (?:(\S+?)\((\d+)\): ([\w\\]+))?")
_PHP_XDEBUG = re.compile(rb"^(?:PHP[ \t]+)?\d+\. \S")
_PHP_WHERE = re.compile(rb" in (/\S+|[A-Za-z]:\\\S+?)(?::\d+| on line \d+)")
_PHP_HEAD = re.compile(rb"(?<![\w\\])([A-Z][\w\\]*(?:Exception|Error)\w*)(?:\(code: \d+\))?"
                       rb"(?:: (.*?))?(?: in | at )(/\S+?|[A-Za-z]:\\\S+?)(?::\d+\)?)?$")

_JVM_STD = (
            b"java.", b"javax.", b"jdk.", b"sun.", b"com.sun.", b"kotlin.", b"kotlinx.",
            b"scala.", b"org.springframework.", b"org.apache.", b"org.hibernate.", b"io.netty.",
            b"reactor.", b"com.fasterxml.", b"org.junit.", b"org.eclipse.", b"com.google.",
            b"okhttp3.", b"ch.qos.", b"com.mysql.", b"org.postgresql.", b"com.zaxxer.",
            b"oracle.", b"com.microsoft.", b"io.grpc.", b"io.undertow.", b"org.glassfish.",
            b"org.slf4j.", b"akka.", b"android.", b"androidx.", b"dalvik.",
            b"com.android.internal.", b"jakarta.", b"io.micrometer.", b"System.", b"Microsoft.",
            b"Newtonsoft.")


def _add(lst: list[str], value: bytes) -> None:
    s = value.decode("utf-8", "replace")
    if s and s not in lst and len(lst) < MAX_LIST:
        lst.append(s)


def _third_party_path(p: bytes) -> bool:
    return any(k in p for k in (b"site-packages", b"dist-packages", b"node_modules", b"/gems/",
                                b"/vendor/", b"/pkg/mod/", b"/usr/local/go/", b"/usr/lib/python",
                                b"/rustc/", b".cargo/registry", b"node:", b"/lib/ruby/"))


# ---------------------------------------------------------------- one block


@dataclass
class _Block:
    """An open (or closed) stack trace: a line-by-line state machine plus what it revealed."""

    family: str
    line: int
    text: bytes
    span: tuple[int, int]
    state: str
    prefix: re.Pattern[bytes] | None = None
    base_p: int = 0  # indentation of the header's content after the prefix
    base_0: int = 0  # same, for a line without the prefix
    end_line: int = 0
    frames: int = 0
    langs: dict[str, int] = field(default_factory=dict)
    exc: str = ""
    msg: bytes = b""
    chain: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    pkgs: list[str] = field(default_factory=list)
    foreign: int = 0
    blanks: int = 0
    src: int = 0  # source/caret lines since the last ``File`` line
    has_where: bool = False
    embedded: bool = False
    docker: bool = False  # lines are Docker json-file records: the trace is in their "log"

    def __post_init__(self) -> None:
        self.end_line = self.end_line or self.line

    # -- feeding

    def offer(self, line: bytes, line_no: int) -> int:
        """ACCEPT/PENDING (the line is part of the block), REJECT (it ends it), FOREIGN."""
        if self.docker:
            inner = docker_log(line)
            if inner is None:
                return REJECT
            line = inner
        if self.prefix is None:
            r = self.step(line, self.base_0)
        else:
            m = self.prefix.match(line)
            if m is not None:
                r = self.step(line[m.end():], self.base_p)
                if r == REJECT:
                    return REJECT
            else:
                # A line without the prefix joins only right after an accepted line (a header
                # logged with a prefix, its frames printed raw); else it is another stream's.
                r = self.step(line, 0) if not self.foreign else REJECT
                if r == REJECT:
                    self.foreign += 1
                    return FOREIGN if self.foreign <= MAX_FOREIGN else REJECT
        if r == ACCEPT:
            self.end_line = line_no
            self.foreign = 0
        return r

    def step(self, content: bytes, base: int) -> int:
        """Advance the state machine by one line's content (the prefix removed)."""
        s = content.strip()
        indent = len(content) - len(content.lstrip()) - base
        if not s:
            if self.family in ("python", "go") and self.state in ("end", "chain", "head", "gor")\
                    and self.blanks < 3:
                self.blanks += 1
                return PENDING
            return REJECT
        r = getattr(self, "_step_" + self.family)(s, indent)
        if r == ACCEPT:
            self.blanks = 0
        return int(r)

    def _step_python(self, s: bytes, indent: int) -> int:
        st = self.state
        if st == "group":
            return self._step_python_group(s)
        if st in ("head", "frame", "src"):
            m = _PY_FILE.match(s)
            if m:
                self.frames += 1
                self.src = 0
                self.state = "frame"
                if not _third_party_path(m.group(1)):
                    _add(self.paths, m.group(1))
                return ACCEPT
            if st == "head" or self.blanks:
                return REJECT
            if indent >= 3 and self.src < MAX_SRC:
                self.state = "src"
                self.src += 1
                return ACCEPT
            m = _PY_EXC.match(s)
            if m and indent <= 1:
                self._exception(m.group(1), m.group(2) or b"")
                self.state = "end"
                return ACCEPT
            return REJECT
        if st == "end":
            if s in _PY_CHAIN:
                self.state = "chain"
                return ACCEPT
            return ACCEPT if not self.blanks and _PY_MSG_CONT.match(s) else REJECT
        if st == "chain" and _PY_TB.match(s):
            self.state = "head"
            return ACCEPT
        return REJECT

    def _step_python_group(self, s: bytes) -> int:
        """An exception group: every line of it is drawn inside "|" or "+---" frames."""
        m = _PY_GROUP_LINE.match(s)
        if m is None:
            return REJECT
        inner = s[m.end():].strip()
        while (m := _PY_GROUP_LINE.match(inner)) is not None and m.end():
            inner = inner[m.end():].strip()  # nested groups: "| | File …"
        f = _PY_FILE.match(inner)
        if f:
            self.frames += 1
            if not _third_party_path(f.group(1)):
                _add(self.paths, f.group(1))
            return ACCEPT
        e = _PY_EXC.match(inner)
        if e and not inner.startswith((b"Traceback", b"raise ", b"return ")) and b" " not in (
                e.group(1)):
            name = e.group(1).decode("utf-8", "replace")
            if not self.msg and name.endswith("Group"):
                self._exception(e.group(1), e.group(2) or b"")
            elif name not in self.chain:
                self.chain.append(name)
        return ACCEPT

    def _exception(self, exc: bytes, msg: bytes) -> None:
        name = exc.decode("utf-8", "replace")
        self.chain.append(name)
        if not self.exc or self.family == "python":  # Python prints the outermost one last
            self.exc, self.msg = name, msg

    def _step_at(self, s: bytes, indent: int) -> int:
        if s[:3] in (b"at ", b"at\t"):
            return ACCEPT if self._at_frame(s[3:].strip()) else REJECT
        for lead in (b"Caused by: ", b"---> ", b"Wrapped by: ", b"Suppressed: "):
            if s.startswith(lead):
                m = _AT_HEAD.search(s, len(lead))
                if m:
                    self.chain.append(m.group(1).decode("utf-8", "replace"))
                return ACCEPT
        if _JVM_MORE.match(s) or s.startswith(b"--- End of "):
            return ACCEPT
        return REJECT

    def _at_frame(self, body: bytes) -> bool:
        m = _NODE_FRAME.match(body)
        if m or _NODE_SPECIAL.search(body):
            self._count("nodejs")
            if m and not _third_party_path(m.group(2)):
                _add(self.paths, m.group(2))
            return True
        m = _JAVA_FRAME.match(body)
        if m:
            ext = m.group(3) or b""
            self._count("kotlin" if ext in (b"kt", b"kts") else
                        "scala" if ext == b"scala" else "java")
            self._package(m.group(1).rsplit(b"/", 1)[-1], 2)
            return True
        m = _DOTNET_FRAME.match(body)
        if m:
            self._count("dotnet")
            self._package(m.group(1), 2)
            if m.group(3):
                _add(self.paths, m.group(3))
            return True
        return False

    def _count(self, lang: str) -> None:
        self.frames += 1
        self.langs[lang] = self.langs.get(lang, 0) + 1

    def _package(self, qualified: bytes, drop: int) -> None:
        parts = qualified.split(b".")
        if len(parts) > drop and not qualified.startswith(_JVM_STD):
            _add(self.pkgs, b".".join(parts[:-drop]))

    def _step_go(self, s: bytes, indent: int) -> int:
        if _GO_ROUTINE.match(s):
            self.state = "gor"
            return ACCEPT
        if self.state == "head":
            if s.startswith((b"[signal ", b"panic: ", b"fatal error: ")) and not self.blanks:
                return ACCEPT
            return REJECT
        m = _GO_FILE.match(s)
        if m:
            if not _third_party_path(m.group(1)):
                _add(self.paths, m.group(1))
            return ACCEPT
        if s.startswith(b"exit status ") or s == b"...additional frames elided...":
            return ACCEPT
        if _GO_FUNC.match(s):
            if not s.startswith(b"created by "):
                self.frames += 1
            p = _GO_PKG.match(s)
            if p and (b"." in p.group(1).split(b"/")[0] or p.group(1) == b"main"):
                _add(self.pkgs, p.group(1))
            return ACCEPT
        return REJECT

    def _step_rust(self, s: bytes, indent: int) -> int:
        if self.state == "msg":
            self.msg = s
            self.state = "after"
            return ACCEPT
        if s.startswith(b"note: "):
            return ACCEPT
        if _RS_BT.match(s):
            self.state = "bt"
            return ACCEPT
        m = _RS_FRAME.match(s)
        if m and self.state == "bt":
            self.frames += 1
            crate = m.group(1).split(b"::")[0].lstrip(b"<")
            if crate not in (b"std", b"core", b"alloc", b"rust_begin_unwind", b"__rust_begin_"
                             b"short_backtrace", b"__libc_start_main", b"_start", b"tokio"):
                _add(self.pkgs, crate)
            return ACCEPT
        if s.startswith(b"at ") and self.state == "bt":
            path = s[3:].rsplit(b":", 2)[0]
            if not _third_party_path(path):
                _add(self.paths, path)
            return ACCEPT
        return REJECT

    def _step_ruby(self, s: bytes, indent: int) -> int:
        m = _RB_FRAME.match(s)
        if not m:
            return REJECT
        self.frames += 1
        if not _third_party_path(m.group(1)):
            _add(self.paths, m.group(1))
        t = _RB_TAIL.match(m.group(4))
        if t and not self.exc:
            self.exc, self.msg = t.group(2).decode("utf-8", "replace"), t.group(1)
        return ACCEPT

    def _step_php(self, s: bytes, indent: int) -> int:
        if _PHP_TRACE.match(s) or s.startswith(b"Next "):
            self.state = "trace"
            return ACCEPT
        m = _PHP_FRAME.match(s)
        if m or _PHP_XDEBUG.match(s):
            self.frames += 1
            if m and m.group(1) and not _third_party_path(m.group(1)):
                _add(self.paths, m.group(1))
            if m and m.group(3) and b"\\" in m.group(3):
                ns = m.group(3).rsplit(b"\\", 1)[0]
                if not ns.startswith((b"Illuminate", b"Symfony", b"Laravel", b"Composer")):
                    _add(self.pkgs, ns)
            return ACCEPT
        if s.startswith((b"thrown in ", b"PHP   thrown in ")):
            return ACCEPT
        return REJECT

    # -- reporting

    def language(self) -> str:
        """The block's language (the at-frame family is decided by its frames)."""
        if self.family != "at":
            return self.family
        if not self.langs:
            return "java"
        return max(sorted(self.langs), key=lambda k: self.langs[k])

    def reportable(self) -> bool:
        """Enough evidence for a finding: frames (or a header naming source) not mere prose."""
        if self.family == "rust":
            return self.state != "bt" or self.frames >= 2 or bool(self.exc)
        if self.family == "php":
            return self.frames >= 1 or self.has_where
        if self.family in ("python", "go"):
            return self.frames >= 1
        return self.frames >= 2 or (self.frames >= 1 and bool(self.exc))

    def details(self) -> dict[str, Any]:
        """What the trace reveals (message masked)."""
        d: dict[str, Any] = {
            "language": self.language(), "exception_type": self.exc or None,
            "message": _show(self.msg) if self.msg else None, "frame_count": self.frames,
            "source_paths": self.paths, "internal_packages": self.pkgs,
        }
        if len(self.chain) > 1:
            d["exception_chain"] = self.chain[:MAX_LIST]
        if self.embedded:
            d["embedded"] = True
        return d


def _lang_of(lang: str) -> str:
    for name, langs in DETECTOR_LANGS.items():
        if lang in langs:
            return name
    return ""


# ---------------------------------------------------------------- starting a block


def _new_block(family: str, line: bytes, line_no: int, co: int, span: tuple[int, int],
               state: str) -> _Block:
    raw = line[:co].rstrip(b" \t")
    prefix = _prefix_regex(raw)
    return _Block(family, line_no, line, span, state, prefix=prefix,
                  base_p=co - len(raw) if prefix is not None else 0,
                  base_0=0 if prefix is not None else co)


def _header_from(blk: _Block, back: Sequence[tuple[bytes, int]], rx: re.Pattern[bytes]) -> None:
    """Adopt a header one (or, for a .NET ``--->`` line, two) lines above the first frame."""
    taken: list[tuple[bytes, int, re.Match[bytes]]] = []
    for text, no in back:
        off = 0
        if blk.prefix is not None:
            pm = blk.prefix.match(text)
            if pm is None:
                continue  # another thread's line between the header and the first frame
            off = pm.end()
        if taken and b"---> " not in taken[-1][0]:
            break
        m = rx.search(text, off)
        if m is None:
            break
        taken.append((text, no, m))
    if not taken:
        return
    for _text, _no, m in reversed(taken):
        blk.chain.append(m.group(1).decode("utf-8", "replace"))
    text, no, m = taken[-1]
    if rx is _PHP_HEAD and not _third_party_path(m.group(3)):
        _add(blk.paths, m.group(3))
    blk.exc = blk.chain[0]
    blk.msg = m.group(2) or b"" if m.lastindex and m.lastindex >= 2 else b""
    blk.line, blk.text, blk.span = no, text, m.span(1)


def start_block(line: bytes, line_no: int, back: Sequence[tuple[bytes, int]]) -> _Block | None:
    """Open a block at ``line`` if it starts a stack trace; ``back`` = preceding lines, nearest
    first, that no block consumed."""
    m = _PY_GROUP_HEAD.search(line)
    if m:
        blk = _new_block("python", line, line_no, m.start(), m.span(), "group")
        blk.exc = "ExceptionGroup"
        return blk
    m = _PY_TB.search(line)
    if m:
        return _new_block("python", line, line_no, m.start(), m.span(), "head")
    m = _RS_HEAD.search(line)
    if m:
        blk = _new_block("rust", line, line_no, m.start(), (m.start(), m.end() - 1), "after")
        blk.exc = "panic"
        old = _RS_OLD.search(line)
        new = _RS_NEW.search(line)
        if old:
            blk.msg = old.group(1)
            _add(blk.paths, old.group(2))
        elif new:
            _add(blk.paths, new.group(1))
            blk.state = "msg" if line.rstrip().endswith(b":") else "after"
        return blk
    m = _JVM_HEAD.search(line)
    if m:
        blk = _new_block("at", line, line_no, m.start(), m.span(), "head")
        h = _AT_HEAD.search(line, m.end())
        if h:
            blk.exc, blk.msg = h.group(1).decode("utf-8", "replace"), h.group(2) or b""
            blk.chain.append(blk.exc)
            blk.span = (m.start(), h.end(1))
        return blk
    m = _GO_PANIC.search(line)
    if m:
        blk = _new_block("go", line, line_no, m.start(1), (m.start(1), m.end(1) - 1), "head")
        blk.exc = m.group(1)[:-2].decode()
        blk.msg = line[m.end():]
        return blk
    m = _GO_ROUTINE.search(line)
    if m:
        blk = _new_block("go", line, line_no, m.start(), m.span(), "gor")
        for text, no in back[:2]:
            f = _GO_PANIC.search(text)
            if f:
                blk.line, blk.text, blk.span = no, text, (f.start(1), f.end(1) - 1)
                blk.exc, blk.msg = f.group(1)[:-2].decode(), text[f.end():]
                break
            if text.strip():
                break
        return blk
    m = _PHP_FATAL.search(line)
    if m:
        blk = _new_block("php", line, line_no, m.start(), (m.start(), m.start(1)), "head")
        rest = m.group(1)
        if rest.startswith(b"Uncaught "):
            exc, _, msg = rest[9:].partition(b": ")
            blk.exc, blk.msg = exc.decode("utf-8", "replace"), msg
        else:
            blk.exc, blk.msg = "Fatal error", rest
        w = _PHP_WHERE.search(rest)
        if w:
            blk.has_where = True
            _add(blk.paths, w.group(1))
        return blk
    m = _PHP_TRACE.search(line)
    if m:
        blk = _new_block("php", line, line_no, m.start(1), m.span(1), "trace")
        _header_from(blk, back, _PHP_HEAD)
        return blk
    m = _RS_BT.search(line)
    if m:
        return _new_block("rust", line, line_no, m.start(), m.span(), "bt")
    m = _AT_FRAME.search(line)
    if m:
        a = line.find(b"at", m.start())
        blk = _new_block("at", line, line_no, m.start(), (a, a + 2), "frames")
        pm = blk.prefix.match(line) if blk.prefix is not None else None
        if blk._step_at(line[pm.end() if pm else 0:].strip(), 0) != ACCEPT:
            return None
        _header_from(blk, back, _AT_HEAD)
        return blk
    m = _RB_FRAME_AT.search(line)
    if m:
        co = m.start() + (1 if line[m.start():m.start() + 1] in (b" ", b"\t") else 0)
        blk = _new_block("ruby", line, line_no, co, (co, m.end() - 1), "frames")
        if blk._step_ruby(line[co:].strip(), 0) != ACCEPT:
            return None
        if not blk.exc:
            _header_from(blk, back, _RB_HEAD)
        return blk
    return None


# ---------------------------------------------------------------- traces inside one JSON line


def _string_around(line: bytes, pos: int) -> tuple[int, int] | None:
    """The (start, end) of the JSON string literal holding ``pos``, quotes excluded."""
    i = pos
    while True:
        i = line.rfind(b'"', 0, i)
        if i < 0:
            return None
        if not _escaped(line, i):
            break
    j = pos
    while True:
        j = line.find(b'"', j)
        if j < 0:
            return None
        if not _escaped(line, j):
            return i + 1, j
        j += 1


def _escaped(line: bytes, i: int) -> bool:
    n = 0
    while i - n - 1 >= 0 and line[i - n - 1] == 92:
        n += 1
    return n % 2 == 1


def _unescape(raw: bytes) -> bytes:
    try:
        text = json.loads(b'"' + raw + b'"')
        return text.encode("utf-8", "replace") if isinstance(text, str) else raw
    except ValueError:
        return raw.replace(b"\\n", b"\n").replace(b"\\t", b"\t").replace(b'\\"', b'"')


def _parse_lines(lines: list[bytes]) -> _Block | None:
    """Run the block machine over an in-memory list of lines; the first reportable block."""
    open_blk: _Block | None = None
    low_kw = [k.lower().encode() for k in KEYWORDS]
    for i, line in enumerate(lines):
        if open_blk is not None:
            r = open_blk.offer(line, i + 1)
            if r in (ACCEPT, PENDING, FOREIGN):
                continue
            if open_blk.reportable():
                return open_blk
            open_blk = None
        low = line.lower()
        if any(k in low for k in low_kw):
            back = [(lines[j], j + 1) for j in range(i - 1, max(-1, i - 1 - BACK), -1)]
            open_blk = start_block(line, i + 1, back)
    return open_blk if open_blk is not None and open_blk.reportable() else None


_DOCKER = re.compile(rb'^\{"log": ?"((?:[^"\\]|\\.)*)"')


def docker_log(line: bytes) -> bytes | None:
    """The ``log`` text of a Docker json-file record (one output line per record), or None."""
    m = _DOCKER.match(line)
    return _unescape(m.group(1)).rstrip(b"\r\n") if m else None


def docker_block(line: bytes, line_no: int, back: Sequence[tuple[bytes, int]]) -> _Block | None:
    """A trace starting in a Docker json-file record: its lines follow in the next records."""
    inner = docker_log(line)
    if inner is None:
        return None
    inner_back = [(t, n) for b, n in back if (t := docker_log(b)) is not None]
    blk = start_block(inner, line_no, inner_back)
    if blk is not None:
        blk.docker = True
    return blk


def embedded_block(line: bytes, line_no: int, marks: Sequence[int]) -> _Block | None:
    """A whole trace inside one JSON string of ``line`` (escaped newlines), if any."""
    for pos in marks:
        span = _string_around(line, pos)
        if span is None:
            continue
        raw = line[span[0]:span[1]]
        if b"\\n" not in raw:
            continue
        blk = _parse_lines(_unescape(raw).split(b"\n"))
        if blk is None:
            continue
        head_end = line.find(b"\\n", span[0], span[1])
        blk.line = blk.end_line = line_no
        blk.text, blk.span, blk.embedded = line, (span[0], head_end), True
        return blk
    return None


# ---------------------------------------------------------------- the detector


class TracebackDetector:
    """Finds stack traces in one stream, chunk after chunk (see the module docstring)."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = [r for r in rules if r.detector in DETECTOR_LANGS]
        self._rule_for = {r.detector: r for r in self.rules}
        self._open: list[_Block] = []  # newest first
        self._tail: list[tuple[bytes, int]] = []  # last lines of the previous chunk, newest first
        self._consumed: set[int] = set()  # recent line numbers that belong to some block

    def keywords(self) -> list[str]:
        """Start markers for the engine's prefilter (none when no traceback rule is selected)."""
        return list(KEYWORDS) if self.rules else []

    def feed(self, chunk: Chunk, marks: list[int]) -> list[LineHits]:
        """Walk the lines of open blocks and of lines holding a marker; emit closed blocks."""
        out: list[LineHits] = []
        if not self.rules:
            return out
        data, n = chunk.data, len(chunk.data)
        if chunk.first_col or chunk.limit < n:  # a window of an over-long line: no structure
            self._close_all(out)
            self._tail = []
            return out
        pos, line_no, mi, nm = 0, chunk.first_line, 0, len(marks)
        while pos < n:
            if not self._open:
                while mi < nm and marks[mi] < pos:
                    mi += 1
                if mi >= nm:
                    break
                cut = data.rfind(b"\n", pos, marks[mi])
                ls = pos if cut < 0 else cut + 1
                line_no += data.count(b"\n", pos, ls)
                pos = ls
            le = data.find(b"\n", pos)
            if le < 0:
                le = n
            line_marks: list[int] = []
            while mi < nm and marks[mi] < le:
                if marks[mi] >= pos:
                    line_marks.append(marks[mi] - pos)
                mi += 1
            line = data[pos:le - 1] if le > pos and data[le - 1] == 13 else data[pos:le]
            consumed = self._offer(line, line_no, out) if self._open else False
            if not consumed and line_marks:
                consumed = self._start(line, line_no, line_marks, data, pos, chunk, out)
            if consumed:
                self._consume(line_no)
            pos = le + 1
            line_no += 1
        self._remember_tail(chunk)
        return out

    def pending_line(self) -> int | None:
        """First line of the earliest block still open (an incremental scan resumes there)."""
        return min((b.line for b in self._open), default=None)

    def finish(self) -> list[LineHits]:
        """End of stream: report open blocks."""
        out: list[LineHits] = []
        self._close_all(out)
        self._tail = []
        self._consumed.clear()
        return out

    # -- internals

    def _offer(self, line: bytes, line_no: int, out: list[LineHits]) -> bool:
        consumed = False
        for blk in list(self._open):
            if consumed:
                continue
            r = blk.offer(line, line_no)
            if r in (ACCEPT, PENDING):
                consumed = True
            elif r == REJECT:
                self._open.remove(blk)
                self._emit(blk, out)
        return consumed

    def _start(self, line: bytes, line_no: int, line_marks: list[int], data: bytes, pos: int,
               chunk: Chunk, out: list[LineHits]) -> bool:
        if b"\\n" in line or b"\\t" in line:
            blk = embedded_block(line, line_no, line_marks)
            if blk is not None:
                self._emit(blk, out)
                return True
        back = self._back(data, pos, line_no, chunk)
        blk = (docker_block(line, line_no, back) if line.startswith(b'{"log":') else None) \
            or start_block(line, line_no, back)
        if blk is None:
            return False
        self._open.insert(0, blk)
        while len(self._open) > MAX_OPEN:
            self._emit(self._open.pop(), out)
        return True

    def _consume(self, line_no: int) -> None:
        self._consumed.add(line_no)
        if len(self._consumed) > 4 * BACK:
            self._consumed = {n for n in self._consumed if n > line_no - BACK}

    def _back(self, data: bytes, pos: int, line_no: int, chunk: Chunk) -> list[tuple[bytes, int]]:
        """Up to BACK lines before ``pos`` (this chunk, then the previous one), newest first,
        without those a block already holds."""
        got: list[tuple[bytes, int]] = []
        end = pos
        while len(got) < BACK and end > 0:
            s = data.rfind(b"\n", 0, end - 1) + 1
            got.append((data[s:end - 1].rstrip(b"\r"), line_no - len(got) - 1))
            end = s
        if end == 0:
            got.extend(self._tail[: BACK - len(got)])
        return [(t, no) for t, no in got if no not in self._consumed]

    def _remember_tail(self, chunk: Chunk) -> None:
        data = chunk.data
        nl = data.endswith(b"\n")
        last = chunk.first_line + data.count(b"\n") - (1 if nl else 0)
        end = len(data) - (1 if nl else 0)
        got: list[tuple[bytes, int]] = []
        while len(got) < BACK and end >= 0:
            s = data.rfind(b"\n", 0, end) + 1
            got.append((data[s:end].rstrip(b"\r"), last - len(got)))
            if s == 0:
                break
            end = s - 1
        got.extend(self._tail[: BACK - len(got)])
        self._tail = got

    def _close_all(self, out: list[LineHits]) -> None:
        while self._open:
            self._emit(self._open.pop(), out)

    def _emit(self, blk: _Block, out: list[LineHits]) -> None:
        if not blk.reportable():
            return
        rule = self._rule_for.get(_lang_of(blk.language()))
        if rule is None:
            return
        s, e = blk.span
        hit = Hit(rule, blk.line, blk.end_line, s, e, s, s, blk.details())
        out.append(LineHits(blk.line, 0, mask_text(blk.text), [hit]))


def make_detector(rules: Sequence[Rule]) -> TracebackDetector:
    """Factory registered in :data:`logaudit.engine.blocks.DETECTORS`."""
    return TracebackDetector(rules)
