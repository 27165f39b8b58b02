"""``isecom client read``/``list`` show mail that arrived over SMTP plainly, and refuse to reply to it."""

from __future__ import annotations

import pytest

from isecom.cli import client
from isecom.client.mail import Message
from isecom.crypto.encoding import b64e
from isecom.errors import IsecomError

RAW = (
    b"From: Ana Ruiz <ana@agency.example>\r\nTo: bruno.costa@isecom.example\r\nSubject: Hola\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nCuerpo del mensaje\r\n"
)


def _message() -> Message:
    payload = {
        "v": 1,
        "type": "smtp",
        "smtp_from": "ana@agency.example",
        "smtp_to": ["bruno.costa@isecom.example"],
        "received": "2026-11-28T10:00:00Z",
        "raw": b64e(RAW),
    }
    entry = {"id": "a" * 32, "folder": "inbox", "unread": True, "starred": False, "received_at": "2026-11-28"}
    return Message(entry, payload, b"", b"")


def test_smtp_mail_is_summarised_from_its_headers(capsys: pytest.CaptureFixture[str]) -> None:
    summary, body = client._smtp_summary(_message())
    assert summary["type"] == "smtp" and summary["subject"] == "Hola"
    assert summary["from"]["email"] == "ana@agency.example" and summary["handling"] is None
    assert body.strip() == "Cuerpo del mensaje"
    client._show(summary, body, [])
    assert "not end-to-end encrypted" in capsys.readouterr().out


def test_reply_and_forward_refuse_smtp_mail_with_a_clear_error() -> None:
    with pytest.raises(IsecomError, match="arrived by SMTP"):
        client._member_mail(_message())
