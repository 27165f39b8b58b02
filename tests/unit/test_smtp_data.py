"""The block reader of SMTP DATA (isecom/smtp/data.py) against the line-by-line meaning of RFC 5321 §4.5.2.

Every case is fed whole, byte by byte, and in every two-piece split, so a terminator, a CRLF or a
dot split across TCP reads gives the same outcome as the same bytes in one read.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from isecom.smtp.data import Body, Refusal

LIMIT = 1001  # the default line limit, CRLF included
BIG = 50 * 1024 * 1024


def reference(stream: bytes, max_bytes: int | None, max_line: int) -> tuple[bytes | Refusal, bytes]:
    """The meaning, one line at a time: (content or refusal, what follows the end of DATA)."""
    lines: list[bytes] = []
    size, refusal, pos = 0, None, 0
    while True:
        at = stream.find(b"\r\n", pos)
        assert at >= 0, "the stream must hold the end of DATA"
        line, pos = stream[pos : at + 2], at + 2
        if line == b".\r\n":
            break
        if refusal is None:
            size += len(line)
            if max_bytes is not None and size > max_bytes:
                refusal = Refusal.TOO_BIG
            elif len(line) > max_line:
                refusal = Refusal.TOO_LONG
            else:
                lines.append(line[1:] if line.startswith(b".") else line)
    return (refusal if refusal is not None else b"".join(lines)), stream[pos:]


def splits(stream: bytes) -> Iterator[list[bytes]]:
    yield [stream]
    yield [stream[i : i + 1] for i in range(len(stream))]
    for cut in range(1, len(stream)):
        yield [stream[:cut], stream[cut:]]


def read(chunks: list[bytes], max_bytes: int | None, max_line: int) -> tuple[bytes | Refusal, bytes]:
    body = Body(max_bytes, max_line)
    for n, chunk in enumerate(chunks):
        if body.feed(chunk):
            rest = body.rest + b"".join(chunks[n + 1 :])
            return (body.refusal if body.refusal is not None else body.content()), rest
    raise AssertionError("the end of DATA was not found")


CASES = {
    "empty message": b".\r\n",
    "one line": b"Subject: x\r\n\r\nhello\r\n.\r\n",
    "dot-stuffed lines": b"..leading dot\r\n...two\r\n.\r\n..\r\nx.\r\n.\r\n",
    "dot-stuffed first line": b"..\r\n.\r\n",
    "a dot then text is no end": b".x\r\n. \r\n.\r\n",
    "bare LF then dot LF": b"hello\n.\nMAIL FROM:<a@b>\r\n.\r\n",
    "bare CR then dot CR LF": b"hello\r.\r\nnext\r\n.\r\n",
    "LF dot CRLF": b"hello\n.\r\nmore\r\n.\r\n",
    "CRLF dot LF": b"hello\r\n.\nmore\r\n.\r\n",
    "CRLF dot CR": b"hello\r\n.\rmore\r\n.\r\n",
    "CR before CRLF": b"ends with CR\r\r\n.\r\n",
    "CR CR LF dot": b"x\r\r\n.\r\n",
    "LF at the very start": b"\n.\r\n.\r\n",
    "blank lines": b"\r\n\r\n\r\n.\r\n",
    "next commands after the end": b"body\r\n.\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n",
    "8-bit and UTF-8": "Subject: é\r\n\r\nçà ü 日本\r\n.\r\n".encode(),
}


@pytest.mark.parametrize("stream", CASES.values(), ids=CASES.keys())
def test_any_split_reads_the_same_bytes_as_line_by_line(stream: bytes) -> None:
    expected = reference(stream, BIG, LIMIT)
    for chunks in splits(stream):
        assert read(chunks, BIG, LIMIT) == expected, chunks


def test_dot_unstuffing_is_byte_exact_and_keeps_everything_else() -> None:
    assert read([b"..a\r\n.\r\n"], None, LIMIT)[0] == b".a\r\n"
    assert read([b"a\r\n...\r\n.\r\n"], None, LIMIT)[0] == b"a\r\n..\r\n"
    assert read([b"a\r\nb..c\r\n.\r\n"], None, LIMIT)[0] == b"a\r\nb..c\r\n"
    assert read([b".\r\nafter"], None, LIMIT) == (b"", b"after")


@pytest.mark.parametrize("length", [LIMIT - 1, LIMIT, LIMIT + 1, LIMIT + 2, LIMIT + 3, 5 * LIMIT])
def test_a_line_is_too_long_only_past_the_limit_crlf_included(length: int) -> None:
    line = b"y" * (length - 2) + b"\r\n"
    stream = b"Subject: x\r\n\r\n" + line + b"tail\r\n.\r\nNOOP\r\n"
    expected = reference(stream, BIG, LIMIT)
    assert expected[0] == (Refusal.TOO_LONG if length > LIMIT else b"Subject: x\r\n\r\n" + line + b"tail\r\n")
    for chunks in splits(stream):
        assert read(chunks, BIG, LIMIT) == expected


def test_a_long_line_ending_in_cr_split_before_its_lf_still_ends_data_where_it_should() -> None:
    stream = b"z" * 3000 + b"\r\n.\r\nQUIT\r\n"
    for cut in (2999, 3000, 3001, 3002, 3003):
        assert read([stream[:cut], stream[cut:]], BIG, LIMIT) == (Refusal.TOO_LONG, b"QUIT\r\n")


@pytest.mark.parametrize("limit", [0, 10, 11, 12, 30])
def test_the_size_counts_dot_stuffed_lines_and_not_the_end(limit: int) -> None:
    stream = b"..0123456\r\n0123456789\r\n.\r\nNOOP\r\n"  # 11 + 12 bytes as sent
    expected = reference(stream, limit, LIMIT)
    assert expected[0] == (Refusal.TOO_BIG if limit < 23 else b".0123456\r\n0123456789\r\n")
    for chunks in splits(stream):
        assert read(chunks, limit, LIMIT) == expected


def test_oversize_mid_stream_is_refused_and_the_rest_read_and_dropped() -> None:
    body = Body(4096, LIMIT)
    line = b"x" * 76 + b"\r\n"
    for _ in range(200):
        assert not body.feed(line * 10)
    assert body.refusal is Refusal.TOO_BIG
    assert body._parts == []  # nothing kept once refused
    assert body.feed(b".\r\nRSET\r\n")
    assert (body.refusal, body.rest) == (Refusal.TOO_BIG, b"RSET\r\n")
    with pytest.raises(RuntimeError):
        body.content()


def test_a_line_without_end_keeps_no_more_than_a_byte_once_too_long() -> None:
    body = Body(BIG, LIMIT)
    for _ in range(1000):
        assert not body.feed(b"w" * 4096)
    assert len(body._tail) <= 1
    assert body.feed(b"\r\n.\r\n")
    assert body.refusal is Refusal.TOO_LONG


def test_the_first_limit_passed_in_the_stream_decides() -> None:
    long_first = b"a" * 2000 + b"\r\n" + b"b" * 500 + b"\r\n.\r\n"
    assert read([long_first], 2100, LIMIT)[0] is Refusal.TOO_LONG
    big_first = b"b" * 500 + b"\r\n" + b"a" * 2000 + b"\r\n.\r\n"
    assert read([big_first], 600, LIMIT)[0] is Refusal.TOO_BIG
    both = b"a" * 2000 + b"\r\n.\r\n"  # one line too long that also passes the size: too big
    for chunks in splits(both):
        assert read(chunks, 1500, LIMIT)[0] is Refusal.TOO_BIG


def test_feeding_after_the_end_is_an_error() -> None:
    body = Body(None, LIMIT)
    assert body.feed(b".\r\n")
    with pytest.raises(RuntimeError):
        body.feed(b"x")
