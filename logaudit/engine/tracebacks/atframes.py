"""Traces whose frames start with ``at``: JVM languages (Java, Kotlin, Scala), Node.js and .NET.
The family is one state machine; the frames' shapes decide the language. The header is
``Exception in thread "…" X: msg`` or the exception line just above the first frame;
``Caused by:`` / ``--->`` / ``Suppressed:`` lines extend the chain."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from logaudit.engine.tracebacks.base import (
    ACCEPT,
    REJECT,
    Back,
    Block,
    Family,
    Verdict,
    add,
    header_from,
    third_party_path,
)

_FRAME_AT = re.compile(rb"(?:\t| {3})at[ \t]+\S")
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
_DOTNET_FRAME = re.compile(
    rb"^([\w.`<>$|+\[\],]+)\(([^()]*)\)(?:[ \t]+in[ \t]+(.+?):line[ \t]+(\d+))?$")
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

    def language(self) -> str:
        if not self.langs:
            return "java"
        return max(sorted(self.langs), key=lambda k: self.langs[k])

    def feed(self, s: bytes, indent: int) -> Verdict:
        if s[:3] in (b"at ", b"at\t"):
            return ACCEPT if self._frame(s[3:].strip()) else REJECT
        for lead in _CHAIN_LEADS:
            if s.startswith(lead):
                m = _HEAD.search(s, len(lead))
                if m:
                    self.chain.append(m.group(1).decode("utf-8", "replace"))
                return ACCEPT
        if _JVM_MORE.match(s) or s.startswith(b"--- End of "):
            return ACCEPT
        return REJECT

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
            self._count("dotnet")
            self._package(m.group(1), 2)
            if m.group(3):
                add(self.paths, m.group(3))
            return True
        return False

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


def start_frame(line: bytes, line_no: int, back: Back) -> Block | None:
    """The first ``at …`` frame, adopting the exception line(s) above it."""
    m = _FRAME_AT.search(line)
    if m is None:
        return None
    a = line.find(b"at", m.start())
    blk = AtBlock.open(line, line_no, m.start(), (a, a + 2))
    pm = blk.prefix.match(line) if blk.prefix is not None else None
    if blk.feed(line[pm.end() if pm else 0:].strip(), 0) is not ACCEPT:
        return None
    header_from(blk, back, _HEAD)
    return blk


FAMILY = Family(
    name="at-frames",
    detectors={"jvm-stack-trace": ("java", "kotlin", "scala"),
               "nodejs-stack-trace": ("nodejs",), "dotnet-stack-trace": ("dotnet",)},
    keywords=("Exception in thread", "\tat ", "   at ", "\\tat ", "\\n    at "),
    starters=((40, start_thread), (100, start_frame)),
)
