"""The DATA section of an SMTP transaction, read in blocks instead of line by line (RFC 5321 §4.5.2).

aiosmtpd reads DATA one ``readuntil(b"\\r\\n")`` at a time (≈ 130 awaits for a 10 KiB message);
``Body`` takes whatever the connection delivered and finds the lines itself, with the same
meaning as aiosmtpd's reader:

* a line ends at each CRLF and only there: a bare CR or LF stays inside its line (and the
  gateway then refuses the message, SMTP smuggling), so ``<LF>.<LF>`` and the like never end DATA;
* DATA ends at the first line that is exactly ``.`` (``.<CR><LF>`` at the start of the data, or
  ``<CR><LF>.<CR><LF>`` after it); what follows it belongs to the next command;
* a leading dot is removed from every other line (``..`` becomes ``.``), nothing else changes;
* the size is counted in the bytes as sent (dot-stuffed lines with their CRLF, the final
  ``.<CR><LF>`` line excluded) and is "too big" as soon as it passes the limit; a line longer
  than the line limit (its CRLF included) is "too long". Either way the rest of DATA is read and
  dropped, and the first of the two in the stream decides the reply (a line that is both too long
  and pushes the total past the limit counts as too big). The outcome does not depend on how the
  bytes were split into reads.

Nothing here awaits, logs or keeps more than the message (and at most one line) in memory.
"""

from __future__ import annotations

import enum

CRLF = b"\r\n"
END = b"\r\n.\r\n"  # a CRLF ending a line, then a line holding only "."


class Refusal(enum.Enum):
    TOO_LONG = "500 Line too long (see RFC5321 4.5.3.1.6)"
    TOO_BIG = "552 Error: Too much mail data"


class Body:
    """Feed the bytes after ``354`` with ``feed`` until it returns True; then ``content()``,
    ``refusal`` and ``rest`` (what followed the end-of-data line, for the command reader)."""

    def __init__(self, max_bytes: int | None, max_line: int) -> None:
        self.max_bytes = max_bytes
        self.max_line = max_line
        self.refusal: Refusal | None = None
        self.rest = b""
        self.done = False
        self._parts: list[bytes] = []  # complete lines, still dot-stuffed
        self._size = 0  # bytes of the complete lines so far
        self._tail = b""  # the current, unfinished line (only its last byte once it is too long)
        self._tail_len = 0  # that line's length so far, dropped bytes included

    def feed(self, chunk: bytes) -> bool:
        """Take the next bytes read from the connection; True once the end-of-data line is in."""
        if self.done:
            raise RuntimeError("DATA has ended")
        buf = self._tail + chunk if self._tail else chunk
        dropped = self._tail_len - len(self._tail)  # bytes of the current line before buf[0]
        if dropped == 0 and buf[:3] == b".\r\n":  # buf[0] starts a line, and that line is "."
            end, after = 0, 3
        else:
            at = buf.find(END)
            end, after = (at + 2, at + 5) if at >= 0 else (-1, -1)
        if end >= 0:
            self._lines(buf, end, dropped)
            self.rest = buf[after:]
            self._tail, self._tail_len = b"", 0
            self.done = True
            return True
        last = buf.rfind(CRLF)
        cut = last + 2 if last >= 0 else 0
        self._lines(buf, cut, dropped)
        tail_len = (dropped if cut == 0 else 0) + len(buf) - cut
        if self.refusal is None and self.max_bytes is not None and self._size + tail_len > self.max_bytes:
            self._refuse(Refusal.TOO_BIG)
        if tail_len > self.max_line:  # too long already: keep only a last byte that may be a CR
            self._tail = buf[-1:] if buf[-1:] == b"\r" else b""
        else:
            self._tail = buf[cut:]
        self._tail_len = tail_len
        return False

    def content(self) -> bytes:
        """The message as the client meant it: dot-unstuffed, CRLF line endings kept as sent."""
        if not self.done or self.refusal is not None:
            raise RuntimeError("no content: DATA has not ended, or was refused")
        data = b"".join(self._parts)
        self._parts = []
        if data[:1] == b".":
            data = data[1:]
        # Every "\r\n." starts a line with a dot (a CRLF always ends a line); drop that one dot.
        return data.replace(b"\r\n.", CRLF)

    def _lines(self, buf: bytes, cut: int, dropped: int) -> None:
        """buf[:cut]: complete lines (each ending with CRLF), the first of which began ``dropped``
        bytes before buf[0]."""
        if cut == 0 or self.refusal is not None:
            return
        block = buf[:cut]
        size = self._size + dropped + cut
        if dropped + cut <= self.max_line:
            longest = dropped + cut  # no line can be longer than the block
        else:
            lines = block.split(CRLF)
            lines.pop()  # after the last CRLF: nothing
            longest = max(dropped + len(lines[0]), max(map(len, lines))) + 2
        if (self.max_bytes is None or size <= self.max_bytes) and longest <= self.max_line:
            self._size = size  # the common case: every line fits, the total too
            self._parts.append(block)
            return
        for at, line in enumerate(block.split(CRLF)[:-1]):  # which limit the stream passes first
            self._size += len(line) + 2 + (dropped if at == 0 else 0)
            if self.max_bytes is not None and self._size > self.max_bytes:
                self._refuse(Refusal.TOO_BIG)
                return
            if len(line) + 2 + (dropped if at == 0 else 0) > self.max_line:
                self._refuse(Refusal.TOO_LONG)
                return
        raise AssertionError("a limit was passed")  # pragma: no cover - unreachable

    def _refuse(self, refusal: Refusal) -> None:
        self.refusal = refusal
        self._parts = []  # drop what was kept at once
