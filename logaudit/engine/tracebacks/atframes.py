"""Traces whose frames start with ``at``: JVM languages (Java, Kotlin, Scala), Node.js and .NET.
The family is one state machine; the frames' shapes decide the language. The header is
``Exception in thread "…" X: msg`` or the exception line above the first frame (a message may
run over a few lines before it); ``Caused by:`` / ``--->`` / ``Suppressed:`` lines extend the
chain.

Shapes beyond the indented English ``at``: .NET frames in other UI languages (``在``, ``bei``,
``à``, ``en``, ``в``, ``場所``, ``em``, with the localised ``in … line N``), Mono frames
(``at X.Y () [0x00005] in <mvid>:0``, two-space indent, under ``Unhandled Exception:``), and JVM
frames written with no indent after a log prefix (logcat ``E AndroidRuntime: at …``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from logaudit.engine.tracebacks.base import (
    ACCEPT,
    PENDING,
    REJECT,
    Back,
    Block,
    Family,
    Verdict,
    add,
    header_from,
    holds_marker,
    third_party_path,
)

# Frame keywords: English, then the .NET UI languages (zh, de, fr, es, ru, ja, pt).
_LOCAL_AT = ("在".encode(), b"bei", "à".encode(), b"en", "в".encode(), "場所".encode(), b"em")
# rsyslog writes a tab as "#011" (its control-character escape)
_FRAME_AT = re.compile(rb"(?:\t| {2,}|#011)(?:at|" + b"|".join(_LOCAL_AT) + rb")[ \t]+\S")
# No indent after a log prefix: only a whole JVM frame opens a block this way.
_FRAME_BARE = re.compile(rb"(?<=[:\]>|-]) at (?=[\w$])")
_HEAD = re.compile(
    rb"(?<![\w$.])((?:[A-Za-z_$][\w$]*\.)+[A-Z][\w$]*|[A-Z]\w*(?:Error|Exception)|Error)"
    rb"(?:[ \t]\[\w+\])?(?::[ \t](.*)|:?[ \t]*$)")
_JVM_HEAD = re.compile(rb'Exception in thread "[^"]*" ')
_JAVA_FRAME = re.compile(
    rb"^([\w$.<>/\[\]~@-]+)\(([\w$.-]+\.(java|kt|kts|scala|groovy|clj|jsp)(?::\d+)?"
    rb"|Native Method|Unknown Source|Unknown|SourceFile(?::\d+)?)\)(?:[ \t]+~?\[[^\]]*\])*$")
_NODE_FRAME = re.compile(
    rb"^(?:async[ \t]+)?(?:new[ \t]+)?(?:(.+?)[ \t]+\()?((?:file://)?[^\s()]+?):(\d+):(\d+)\)?$")
_NODE_SPECIAL = re.compile(rb"\((?:<anonymous>|native|index \d+)\)$|^<anonymous>$")
_IN = b"|".join((b"in", "位置".encode(), b"dans", b"en", "в".encode(), "場所".encode(), b"em"))
_LINE = b"|".join((b"line", "行号".encode(), b"Zeile", b"ligne", "línea".encode(),
                   "строка".encode(), "行".encode(), b"linha"))
_DOTNET_FRAME = re.compile(
    rb"^(?:\(wrapper [\w-]+\) )?([\w.`<>$|+\[\],]+) ?\(([^()]*)\)"
    rb"(?:[ \t]+(?:\[0x[0-9a-fA-F]+\]|<0x[0-9a-fA-F]+(?: \+ 0x[0-9a-fA-F]+)?>))?"
    rb"(?:[ \t]+(?:" + _IN + rb")[ \t]+(?:<[0-9a-fA-F]{8,}(?:#[0-9a-fA-F]+)?>:0|(.+?):(?:"
    + _LINE + rb")[ \t]*(\d+)\.?|(/\S+?):(\d+)))?$")
# Mono prints this line above the exception line; .NET's "--- End of inner exception stack
# trace ---" is localised too ("--- Ende der internen Ausnahmestapelüberwachung ---").
_UNHANDLED = re.compile(rb"(?:^|[\s\]:])(Unhandled [Ee]xception:)[ \t]*$")
_DASHES = re.compile(rb"^--- .{4,100} ---$")
MAX_MSG = 8  # lines of a multi-line exception message before the first frame
_JVM_MORE = re.compile(rb"^\.\.\. \d+ (?:more|common frames omitted)")
_CHAIN_LEADS = (b"Caused by: ", b"---> ", b"Wrapped by: ", b"Suppressed: ")

_STD = (b"java.", b"javax.", b"jdk.", b"sun.", b"com.sun.", b"kotlin.", b"kotlinx.",
        b"scala.", b"org.springframework.", b"org.apache.", b"org.hibernate.", b"io.netty.",
        b"reactor.", b"com.fasterxml.", b"org.junit.", b"org.eclipse.", b"com.google.",
        b"okhttp3.", b"ch.qos.", b"com.mysql.", b"org.postgresql.", b"com.zaxxer.",
        b"oracle.", b"com.microsoft.", b"io.grpc.", b"io.undertow.", b"org.glassfish.",
        b"org.slf4j.", b"akka.", b"android.", b"androidx.", b"dalvik.",
        b"com.android.internal.", b"jakarta.", b"io.micrometer.", b"System.", b"Microsoft.",
        b"Newtonsoft.")


@dataclass
class AtBlock(Block):
    """A JVM, Node.js or .NET trace."""

    langs: dict[str, int] = field(default_factory=dict)  # frames per language
    msg_lines: int = 0  # message lines after the header, before the first frame

    def language(self) -> str:
        if not self.langs:
            return "java"
        return max(sorted(self.langs), key=lambda k: self.langs[k])

    def feed(self, s: bytes, indent: int) -> Verdict:
        if s.startswith(b"#011"):
            s = s[4:].lstrip()
        if s[:3] in (b"at ", b"at\t"):
            return ACCEPT if self._frame(s[3:].strip()) else REJECT
        word, _, rest = s.partition(b" ")
        if word in _LOCAL_AT and rest:
            return ACCEPT if self._local_frame(rest.strip()) else REJECT
        for lead in _CHAIN_LEADS:
            if s.startswith(lead):
                m = _HEAD.search(s, len(lead))
                if m:
                    self.chain.append(m.group(1).decode("utf-8", "replace"))
                return ACCEPT
        if _JVM_MORE.match(s) or s.startswith(b"--- End of ") or (
                self.frames and _DASHES.match(s)):
            return ACCEPT
        if self.frames == 0 and self.exc and self.msg_lines < MAX_MSG and not holds_marker(s):
            self.msg_lines += 1  # an exception message of several lines, before the first frame
            return PENDING
        return REJECT

    def _local_frame(self, body: bytes) -> bool:
        """A .NET frame after a localised keyword: a ``Namespace.Type.Method(…)`` shape (the
        dot keeps ``en casa (de Juan)`` out) unless frames came before."""
        m = _DOTNET_FRAME.match(body)
        if m is None or (not self.frames and b"." not in m.group(1)):
            return False
        self._dotnet(m)
        return True

    def _frame(self, body: bytes) -> bool:
        m = _NODE_FRAME.match(body)
        if m or _NODE_SPECIAL.search(body):
            self._count("nodejs")
            if m and not third_party_path(m.group(2)):
                add(self.paths, m.group(2))
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
            self._dotnet(m)
            return True
        return False

    def _dotnet(self, m: re.Match[bytes]) -> None:
        self._count("dotnet")
        self._package(m.group(1), 2)
        path = m.group(3) or m.group(5)
        if path:
            add(self.paths, path)

    def _count(self, lang: str) -> None:
        self.frames += 1
        self.langs[lang] = self.langs.get(lang, 0) + 1

    def _package(self, qualified: bytes, drop: int) -> None:
        parts = qualified.split(b".")
        if len(parts) > drop and not qualified.startswith(_STD):
            add(self.pkgs, b".".join(parts[:-drop]))


def start_thread(line: bytes, line_no: int, back: Back) -> Block | None:
    """``Exception in thread "main" java.lang.X: msg``."""
    m = _JVM_HEAD.search(line)
    if m is None:
        return None
    blk = AtBlock.open(line, line_no, m.start(), m.span())
    h = _HEAD.search(line, m.end())
    if h:
        blk.exc, blk.msg = h.group(1).decode("utf-8", "replace"), h.group(2) or b""
        blk.chain.append(blk.exc)
        blk.span = (m.start(), h.end(1))
    return blk


def _exception_like(m: re.Match[bytes]) -> bool:
    name = m.group(1).rsplit(b".", 1)[-1]
    return name.endswith((b"Exception", b"Error", b"Throwable", b"Failure", b"Fault"))


def _adopt_header(blk: AtBlock, back: Back) -> None:
    """The exception line just above the first frame, else one a few message lines up (the
    lines between carry the block's prefix, hold no frame and no other trace's marker);
    ``Unhandled Exception:`` above it joins the span."""
    if header_from(blk, back, _HEAD) is None:
        prev = [(t, no, pm.end() if pm else 0) for t, no in back[:MAX_MSG + 1]
                if (pm := blk.prefix.match(t) if blk.prefix is not None else None) is not None
                or blk.prefix is None]
        for i, (text, no, off) in enumerate(prev):
            if no != blk.line - 1 - i or not text[off:].strip() or holds_marker(text[off:]):
                return
            h = _HEAD.search(text, off)
            if i and h is not None and _exception_like(h):
                blk.exc = h.group(1).decode("utf-8", "replace")
                blk.chain.insert(0, blk.exc)
                blk.msg = h.group(2) or b""
                blk.line, blk.text, blk.span = no, text, h.span(1)
                blk.msg_lines = i
                break
        else:
            return
    for text, no in back:
        if no == blk.line - 1:
            pm = blk.prefix.match(text) if blk.prefix is not None else None
            u = _UNHANDLED.search(text, pm.end() if pm else 0)
            if u is not None and (pm is not None or blk.prefix is None):
                blk.line, blk.text = no, text
                blk.span = u.span(1)
            return


def start_frame(line: bytes, line_no: int, back: Back) -> Block | None:
    """The first ``at …`` frame (indented, localised, or a whole JVM frame right after a log
    prefix), adopting the exception line(s) above it."""
    m = _FRAME_AT.search(line)
    if m is not None:
        co = m.start()
        word = line[co:m.end()].split()[0].removeprefix(b"#011")
        a = line.index(word, co)
    else:
        m = _FRAME_BARE.search(line)
        if m is None or not _JAVA_FRAME.match(line[m.end():].strip()):
            return None
        co = a = m.start() + 1
        word = b"at"
    blk = AtBlock.open(line, line_no, co, (a, a + len(word)))
    pm = blk.prefix.match(line) if blk.prefix is not None else None
    if blk.feed(line[pm.end() if pm else 0:].strip(), 0) is not ACCEPT:
        return None
    _adopt_header(blk, back)
    return blk


FAMILY = Family(
    name="at-frames",
    detectors={"jvm-stack-trace": ("java", "kotlin", "scala"),
               "nodejs-stack-trace": ("nodejs",), "dotnet-stack-trace": ("dotnet",)},
    keywords=("Exception in thread", "\tat ", "  at ", "\\tat ", "\\n    at ", ": at ", "] at ",
              "- at ", "#011at ",
              "   在 ", "   bei ", "   à ", "   en ", "   в ", "   場所 ", "   em "),
    starters=((40, start_thread), (100, start_frame)),
)
