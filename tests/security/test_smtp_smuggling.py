"""SMTP smuggling and bare line endings (CVE-2023-51766 class; aiosmtpd CVE-2024-27305).

A sender that ends DATA with something other than ``<CR><LF>.<CR><LF>`` and
follows it with a second transaction tries to make us see two messages where
its outbound server saw one. The gateway must see one message, refuse it with
a permanent 550, and run none of the smuggled commands. The same holds for any
bare CR or LF in the content.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.smtpgateway import FR_MEMBER, FR_SENDER, Harness, connect, raw_data

SMUGGLED = b"MAIL FROM:<ceo@police.example>\r\nRCPT TO:<" + FR_MEMBER.encode() + b">\r\nDATA\r\nForged\r\n"


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    running = Harness(tmp_path_factory.mktemp("smuggling"))
    yield running
    running.close()


@pytest.mark.parametrize(
    "end",
    [
        pytest.param(b"\n.\n", id="LF.LF"),
        pytest.param(b"\r.\n", id="CR.LF"),
        pytest.param(b"\n.\r\n", id="LF.CRLF"),
        pytest.param(b"\r\n.\n", id="CRLF.LF"),
        pytest.param(b"\r.\r\n", id="CR.CRLF"),
        pytest.param(b"\r\n.\r", id="CRLF.CR"),
    ],
)
def test_smuggled_end_of_data_is_refused_as_one_message(harness: Harness, end: bytes) -> None:
    with harness.serve() as port, connect(port) as client:
        client.mail(FR_SENDER)
        assert client.rcpt(FR_MEMBER)[0] == 250
        code, reply = raw_data(client, b"Subject: first\r\n\r\nhello" + end + SMUGGLED + b".\r\n")
        assert (code, reply[:5]) == (550, b"5.6.0")
        # Had the smuggled transaction run, its replies would arrive before this one.
        assert client.noop() == (250, b"OK")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"Subject: x\n\nbody\n", id="LF only"),
        pytest.param(b"Subject: x\r\n\r\nline one\nline two\r\n", id="one bare LF"),
        pytest.param(b"Subject: x\r\n\r\nline one\rline two\r\n", id="one bare CR"),
        pytest.param(b"Subject: x\r\n\r\nends with CR\r\r\n", id="CR before CRLF"),
    ],
)
def test_bare_line_endings_are_refused(harness: Harness, body: bytes) -> None:
    with harness.serve() as port, connect(port) as client:
        client.mail(FR_SENDER)
        client.rcpt(FR_MEMBER)
        code, _ = raw_data(client, body + b"\r\n.\r\n")
        assert code == 550
        assert client.noop()[0] == 250


def test_clean_crlf_message_with_dot_stuffing_is_not_mistaken_for_smuggling(harness: Harness) -> None:
    with harness.serve() as port, connect(port) as client:
        client.mail(FR_SENDER)
        client.rcpt(FR_MEMBER)
        code, _ = raw_data(client, b"Subject: x\r\n\r\n..leading dot\r\n.\r\n")
        assert code == 250  # accepted: sealed and committed like any clean message
