"""The gateway's own DATA reader and RCPT look-ups, against a live gateway and a real client.

DATA is read in blocks (isecom/smtp/data.py; every split is checked in tests/unit/test_smtp_data.py):
here the same holds over a socket, commands sent right behind the end of DATA are still
answered in order, and a connection dropped mid-DATA stores nothing. RCPT remembers which member
an address names and DATA seals to the keys RCPT read; a status change is still seen at the
next RCPT.
"""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import func, select

from isecom.types import Email, MemberStatus
from storage import tables as t
from storage.store import SqlTransaction
from tests.smtpgateway import FR_MEMBER, FR_SENDER, Harness, connect, raw_data

MESSAGE = b"Subject: blocks\r\n\r\n..a stuffed dot\r\nline\r\n"


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    running = Harness(tmp_path_factory.mktemp("data-reader"))
    yield running
    running.close()


def stored(harness: Harness) -> int:
    async def count() -> int:
        async with harness.store.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(t.messages))).scalar_one())

    return int(harness.run(count()))


def set_status(harness: Harness, status: MemberStatus) -> None:
    async def change() -> None:
        async with harness.store.transaction() as tx:
            member = await tx.members.by_email(Email.parse(FR_MEMBER))
            assert member is not None
            await tx.members.set_status(member.id, status)

    harness.run(change())


def test_the_end_of_data_split_across_writes_is_found(harness: Harness) -> None:
    with harness.serve() as port, connect(port) as client:
        client.mail(FR_SENDER)
        assert client.rcpt(FR_MEMBER)[0] == 250
        client.putcmd("data")
        assert client.getreply()[0] == 354
        before = stored(harness)
        for piece in (MESSAGE[:-1], b"\n", b".", b"\r", b"\n"):
            client.send(piece)
            time.sleep(0.05)  # separate TCP segments, most likely separate reads (no timing is asserted)
        assert client.getreply()[0] == 250
        assert stored(harness) == before + 1


def test_commands_sent_behind_the_end_of_data_are_answered_in_order(harness: Harness) -> None:
    with harness.serve() as port, connect(port) as client:
        client.mail(FR_SENDER)
        client.rcpt(FR_MEMBER)
        code, _ = raw_data(client, MESSAGE + b".\r\nNOOP\r\nMAIL FROM:<" + FR_SENDER.encode() + b">\r\n")
        assert code == 250
        assert client.getreply() == (250, b"OK")  # the NOOP
        assert client.getreply()[0] == 250  # the MAIL: a new transaction has begun
        assert client.rcpt(FR_MEMBER)[0] == 250
        assert raw_data(client, b".\r\n")[0] == 250  # an empty message is a message


def test_a_line_of_exactly_the_limit_passes_and_one_byte_more_is_refused(harness: Harness) -> None:
    with harness.serve(max_line_bytes=1001) as port, connect(port) as client:
        client.mail(FR_SENDER)
        client.rcpt(FR_MEMBER)
        assert raw_data(client, b"Subject: x\r\n\r\n" + b"y" * 999 + b"\r\n.\r\n")[0] == 250
        client.mail(FR_SENDER)
        client.rcpt(FR_MEMBER)
        assert raw_data(client, b"Subject: x\r\n\r\n" + b"y" * 1000 + b"\r\n.\r\n")[0] == 500
        assert client.noop()[0] == 250


def test_a_connection_dropped_in_the_middle_of_data_stores_nothing(harness: Harness) -> None:
    with harness.serve() as port:
        before = stored(harness)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            reader = raw.makefile("rb")
            for command in (b"EHLO relay.police.example", b"MAIL FROM:<" + FR_SENDER.encode() + b">",
                            b"RCPT TO:<" + FR_MEMBER.encode() + b">", b"DATA"):  # fmt: skip
                raw.sendall(command + b"\r\n")
                while (line := reader.readline())[3:4] == b"-":
                    pass
                assert line[:1] in (b"2", b"3")
            raw.sendall(MESSAGE + b"\r\n.")  # no final CRLF: the end of DATA never comes
        with connect(port) as client:  # the gateway still serves
            assert client.noop()[0] == 250
        assert stored(harness) == before


def test_rcpt_remembers_the_member_and_data_reads_no_keys_again(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    real_read, real_keys = harness.store.read, harness.store.recipient_keys

    @asynccontextmanager
    async def read() -> AsyncIterator[SqlTransaction]:
        reads.append("snapshot")
        async with real_read() as tx:
            yield tx

    async def recipient_keys(*args: Any) -> Any:
        reads.append("keys")
        return await real_keys(*args)

    with harness.serve() as port, connect(port) as client:
        client.sendmail(FR_SENDER, [FR_MEMBER], MESSAGE)  # the first RCPT looks the address up
        monkeypatch.setattr(harness.store, "read", read)
        monkeypatch.setattr(harness.store, "recipient_keys", recipient_keys)
        client.sendmail(FR_SENDER, [FR_MEMBER], MESSAGE)
    assert reads == ["keys"]  # RCPT: status and keys, read each time; DATA: nothing read again


def test_a_remembered_member_suspended_later_is_refused_at_the_next_rcpt(harness: Harness) -> None:
    with harness.serve() as port, connect(port) as client:
        client.mail(FR_SENDER)
        assert client.rcpt(FR_MEMBER)[0] == 250
        client.rset()
        set_status(harness, MemberStatus.SUSPENDED)
        try:
            client.mail(FR_SENDER)
            code, reply = client.rcpt(FR_MEMBER)
            assert (code, reply[:5]) == (550, b"5.1.1")
        finally:
            set_status(harness, MemberStatus.ACTIVE)
        client.rset()
        client.mail(FR_SENDER)
        assert client.rcpt(FR_MEMBER)[0] == 250


def test_consecutive_messages_on_one_connection_are_stored_once_each(harness: Harness) -> None:
    with harness.serve() as port, connect(port) as client:
        before = stored(harness)
        for _ in range(3):
            client.sendmail(FR_SENDER, [FR_MEMBER], MESSAGE)
        assert stored(harness) == before + 3
