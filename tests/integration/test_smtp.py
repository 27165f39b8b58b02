"""The SMTP listener, driven by a real smtplib client against `isecom serve`."""

from __future__ import annotations

import smtplib

import pytest

from tests.conftest import LiveServer


@pytest.fixture
def smtp(demo_server: LiveServer) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", demo_server.smtp_port, timeout=10)
    client.ehlo("agency-relay.example")
    return client


def test_ehlo_advertises_size_smtputf8_and_8bitmime(smtp: smtplib.SMTP) -> None:
    assert smtp.has_extn("size") and int(smtp.esmtp_features["size"]) > 0
    assert smtp.has_extn("smtputf8")
    assert smtp.has_extn("8bitmime")
    smtp.quit()


def test_unknown_recipients_and_relaying_are_refused_at_rcpt(smtp: smtplib.SMTP) -> None:
    smtp.mail("sender@agency-relay.example")
    assert smtp.rcpt("nobody@isecom.example")[0] == 550
    assert smtp.rcpt("someone@elsewhere.example")[0] == 550
    assert smtp.rcpt("not an address")[0] in (501, 550, 553)
    smtp.quit()


def test_a_member_not_activated_yet_is_deferred_at_rcpt_not_refused(smtp: smtplib.SMTP) -> None:
    smtp.mail("sender@agency-relay.example")
    code, reply = smtp.rcpt("camille.roux@isecom.example")
    assert code == 451 and reply.startswith(b"4.3.0")  # temporary: the sending server keeps it and retries
    assert smtp.rcpt("nobody@isecom.example")[0] == 550  # an unknown address stays a permanent refusal
    smtp.quit()
