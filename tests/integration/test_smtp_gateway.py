"""The SMTP gateway's transport and policy, driven by a real smtplib client.

The gateway runs on its own event loop in a thread, over a real store with
the demo members, on 127.0.0.1; TLS certificates come from trustme. Each test
starts a gateway with the settings it needs.
"""

from __future__ import annotations

import base64
import logging
import secrets
import smtplib
import ssl
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from isecom.config import SenderRule, SmtpSettings
from isecom.services import keydir
from isecom.smtp import gateway
from isecom.types import Country, Email
from tests.conftest import run_cli, start_server, stop_server
from tests.smtpgateway import (
    AUTH_SECRET,
    AUTH_USER,
    AUTHORITY,
    ELSEWHERE,
    FR_MEMBER,
    FR_SENDER,
    KE_MEMBER,
    KE_SENDER,
    LOOPBACK,
    PENDING_MEMBER,
    Harness,
    connect,
    fr_by_relay,
    ke_by_auth,
    make_tls,
    publish_keys,
    raw_data,
)

DEFERRED = 451


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    running = Harness(tmp_path_factory.mktemp("gateway"))
    yield running
    running.close()


@pytest.fixture
def client_tls(harness: Harness) -> ssl.SSLContext:
    return harness.tls.client_context()


def test_starttls_with_a_trusted_certificate_then_a_member_without_keys_is_451_at_rcpt(
    harness: Harness, client_tls: ssl.SSLContext
) -> None:
    with harness.serve() as port, connect(port) as client:
        assert client.has_extn("starttls")
        assert int(client.esmtp_features["size"]) == 50 * 1024 * 1024
        assert client.has_extn("8bitmime") and client.has_extn("smtputf8")
        assert not client.has_extn("auth")  # never before TLS
        assert client.starttls(context=client_tls)[0] == 220
        assert isinstance(client.sock, ssl.SSLSocket)
        assert client.sock.version() in ("TLSv1.2", "TLSv1.3")
        client.ehlo("relay.police.example")
        assert not client.has_extn("starttls")
        assert client.mail(FR_SENDER, ["BODY=8BITMIME", "SMTPUTF8"])[0] == 250
        code, reply = client.rcpt(PENDING_MEMBER)
        assert code == DEFERRED and reply.startswith(b"4.3.0")  # not activated yet: the sender retries
        assert client.rcpt(FR_MEMBER)[0] == 250
        code, _ = client.data("Subject: Gel des avoirs\r\n\r\nCorps du message, été.\r\n".encode())
        assert code == 250


def test_when_tls_is_required_mail_before_starttls_gets_530(harness: Harness, client_tls: ssl.SSLContext) -> None:
    with harness.serve(require_tls=True) as port, connect(port) as client:
        assert client.mail(FR_SENDER)[0] == 530
        assert client.docmd("AUTH", "PLAIN")[0] == 530
        client.starttls(context=client_tls)
        client.ehlo("relay.police.example")
        assert client.mail(FR_SENDER)[0] == 250


def test_oversize_messages_get_552(harness: Harness) -> None:
    with harness.serve(max_message_bytes=4096) as port, connect(port) as client:
        assert int(client.esmtp_features["size"]) == 4096
        assert client.mail(FR_SENDER, ["SIZE=5000"])[0] == 552  # declared
        assert client.mail(FR_SENDER)[0] == 250
        assert client.rcpt(FR_MEMBER)[0] == 250
        code, _ = client.data(b"Subject: big\r\n\r\n" + (b"x" * 76 + b"\r\n") * 100)
        assert code == 552  # sent
        assert client.noop()[0] == 250


def test_recipients_beyond_the_limit_get_452(harness: Harness) -> None:
    with harness.serve(max_recipients=2) as port, connect(port) as client:
        client.mail(FR_SENDER)
        assert client.rcpt(FR_MEMBER)[0] == 250
        assert client.rcpt("lina.moreau@isecom.example")[0] == 250
        assert client.rcpt("paul.girard@isecom.example")[0] == 452


def test_unknown_recipients_and_relaying_get_550_at_rcpt(harness: Harness) -> None:
    with harness.serve() as port, connect(port) as client:
        client.mail(FR_SENDER)
        code, reply = client.rcpt("nobody@isecom.example")
        assert (code, reply[:5]) == (550, b"5.1.1")
        assert client.rcpt("someone@elsewhere.example")[0] == 550
        assert client.rcpt("postmaster@police.example")[0] == 550


def test_lines_longer_than_the_limit_are_refused(harness: Harness) -> None:
    with harness.serve() as port, connect(port) as client:
        client.mail(FR_SENDER)
        client.rcpt(FR_MEMBER)
        code, _ = raw_data(client, b"Subject: x\r\n\r\n" + b"y" * 1200 + b"\r\n.\r\n")
        assert code == 500
        assert client.noop()[0] == 250


@pytest.mark.parametrize(
    ("sender", "why"),
    [
        ("officer@not-listed.example", "domain listed for no country"),
        (KE_SENDER, "KE's domain, but not from KE's relays and not signed in"),
        ("", "null sender"),
        ("not an address", "unparseable"),
    ],
)
def test_senders_nobody_admitted_get_550_5_7_1_at_mail(harness: Harness, sender: str, why: str) -> None:
    with harness.serve() as port, connect(port) as client:
        code, reply = client.docmd("MAIL", f"FROM:<{sender}>")
        assert (code, reply[:5]) == (550, b"5.7.1"), why
        assert client.rcpt(FR_MEMBER)[0] == 503  # no transaction was opened


def test_a_sender_admitted_for_one_country_gets_550_5_7_1_for_another(harness: Harness) -> None:
    with harness.serve() as port, connect(port) as client:
        assert client.mail(FR_SENDER)[0] == 250
        code, reply = client.rcpt(KE_MEMBER)
        assert (code, reply[:5]) == (550, b"5.7.1")
        assert client.rcpt(FR_MEMBER)[0] == 250


def test_relays_outside_the_listed_networks_are_refused(harness: Harness) -> None:
    rule = SenderRule(Country("FR"), frozenset({"police.example"}), (ELSEWHERE,))
    with harness.serve(senders=(rule,)) as port, connect(port) as client:
        assert client.mail(FR_SENDER)[0] == 550


def test_auth_over_tls_admits_the_credentials_country(harness: Harness, client_tls: ssl.SSLContext) -> None:
    with harness.serve() as port, connect(port) as client:
        plain = base64.b64encode(f"\0{AUTH_USER}\0{AUTH_SECRET}".encode()).decode()
        assert client.docmd("AUTH", f"PLAIN {plain}")[0] == 538  # encryption required first
        client.starttls(context=client_tls)
        client.ehlo("relay.eacc.example")
        assert "PLAIN" in client.esmtp_features["auth"] and "LOGIN" in client.esmtp_features["auth"]
        assert client.mail(KE_SENDER)[0] == 550  # not yet signed in
        client.rset()
        assert client.login(AUTH_USER, AUTH_SECRET)[0] == 235
        assert client.mail(KE_SENDER)[0] == 250
        assert client.rcpt(KE_MEMBER)[0] == 250
        assert client.rcpt(FR_MEMBER)[0] == 550  # a KE credential speaks for KE only
        assert client.data(b"Subject: x\r\n\r\nbody\r\n")[0] == 250  # sealed and committed


def test_auth_login_mechanism_works_too(harness: Harness, client_tls: ssl.SSLContext) -> None:
    with harness.serve() as port, connect(port) as client:
        client.starttls(context=client_tls)
        client.ehlo("relay.eacc.example")
        client.user, client.password = AUTH_USER, AUTH_SECRET
        assert client.auth("LOGIN", client.auth_login)[0] == 235


@pytest.mark.parametrize(
    ("user", "secret"),
    [(AUTH_USER, "wrong-" + AUTH_SECRET), ("nobody", AUTH_SECRET), (AUTH_USER, "")],
)
def test_auth_with_wrong_credentials_gets_535_and_admits_nothing(
    harness: Harness, client_tls: ssl.SSLContext, user: str, secret: str
) -> None:
    with harness.serve() as port, connect(port) as client:
        client.starttls(context=client_tls)
        client.ehlo("relay.eacc.example")
        plain = base64.b64encode(f"\0{user}\0{secret}".encode()).decode()
        assert client.docmd("AUTH", f"PLAIN {plain}")[0] == 535
        assert client.mail(KE_SENDER)[0] == 550


def test_auth_attempts_are_limited_per_connection(harness: Harness, client_tls: ssl.SSLContext) -> None:
    with harness.serve() as port, connect(port) as client:
        client.starttls(context=client_tls)
        client.ehlo("relay.eacc.example")
        plain = base64.b64encode(f"\0{AUTH_USER}\0guess".encode()).decode()
        codes = [client.docmd("AUTH", f"PLAIN {plain}")[0] for _ in range(gateway.AUTH_ATTEMPTS + 1)]
        assert codes == [535] * gateway.AUTH_ATTEMPTS + [421]


def test_auth_is_not_offered_when_no_credentials_are_configured(harness: Harness, client_tls: ssl.SSLContext) -> None:
    with harness.serve(senders=(fr_by_relay(),)) as port, connect(port) as client:
        client.starttls(context=client_tls)
        client.ehlo("relay.police.example")
        assert not client.has_extn("auth")
        assert client.docmd("AUTH", "PLAIN AGZvbwBiYXI=")[0] == 504


def test_a_silent_client_is_disconnected(harness: Harness) -> None:
    with harness.serve(idle_timeout_seconds=1) as port, connect(port) as client:
        time.sleep(1.5)
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.noop()


def test_plain_port_without_tls_files_offers_no_starttls(harness: Harness) -> None:
    with harness.serve(tls_cert_file=None, tls_key_file=None) as port, connect(port) as client:
        assert not client.has_extn("starttls")
        assert client.mail(FR_SENDER)[0] == 250


def test_log_holds_codes_and_counts_not_content_addresses_or_credentials(
    harness: Harness, client_tls: ssl.SSLContext, caplog: pytest.LogCaptureFixture
) -> None:
    marker = "CANARY" + secrets.token_hex(8)
    caplog.set_level(logging.DEBUG)
    with harness.serve() as port, connect(port) as client:
        client.starttls(context=client_tls)
        client.ehlo("relay.eacc.example")
        client.login(AUTH_USER, AUTH_SECRET)
        client.mail(KE_SENDER)
        client.rcpt(KE_MEMBER)
        client.data(f"Subject: {marker}\r\n\r\n{marker} body\r\n".encode())
        client.mail(KE_SENDER)
        client.rcpt(KE_MEMBER)
        raw_data(client, f"Subject: {marker}\r\n\r\nbare\n.\n{marker}\r\n.\r\n".encode())
        client.docmd(marker, marker)  # a stray line aiosmtpd would log as an unrecognised command
    # Other libraries' loggers (SQL parameters) are held at WARNING by isecom.logs; these are ours.
    ours = [r for r in caplog.records if r.name.startswith(("isecom.smtp", "isecom.inbound", "mail."))]
    text = "\n".join(f"{r.getMessage()} {vars(r)}" for r in ours)
    secret_forms = [AUTH_SECRET, base64.b64encode(f"\0{AUTH_USER}\0{AUTH_SECRET}".encode()).decode()]
    for needle in [marker, *secret_forms, KE_SENDER, KE_MEMBER]:
        assert needle not in text
    assert "smtp refused" in text


def test_tls_files_that_do_not_load_stop_start_up(tmp_path: Path, harness: Harness) -> None:
    bad = tmp_path / "bad.crt"
    bad.write_text("not a certificate")
    with pytest.raises(ssl.SSLError):
        gateway.tls_context(SmtpSettings(tls_cert_file=bad, tls_key_file=harness.tls.key_file))


def test_isecom_serve_starts_the_gateway_with_the_configured_tls_and_policy(tmp_path: Path) -> None:
    """The composition root passes [smtp] to the gateway: TLS required, the template's demo relay."""
    data = tmp_path / "data"
    assert run_cli("init", data=data).returncode == 0
    assert run_cli("demo", data=data).returncode == 0
    tls = make_tls(tmp_path)
    server = start_server(
        data,
        env={
            "ISECOM_SMTP_TLS_CERT_FILE": str(tls.cert_file),
            "ISECOM_SMTP_TLS_KEY_FILE": str(tls.key_file),
            "ISECOM_SMTP_REQUIRE_TLS": "true",
            "ISECOM_SMTP_MAX_RECIPIENTS": "1",
        },
    )
    try:
        with connect(server.smtp_port, "agency-relay.example") as client:
            assert client.mail("sender@agency-relay.example")[0] == 530
            client.starttls(context=tls.client_context())
            client.ehlo("agency-relay.example")
            assert client.mail("sender@agency-relay.example")[0] == 250
            assert client.rcpt(FR_MEMBER)[0] == DEFERRED  # the demo members are not activated yet
            assert client.rcpt("nobody@isecom.example")[0] == 550
    finally:
        stop_server(server)


def test_members_who_cannot_receive_yet_get_4xx_at_rcpt_and_unknown_addresses_550(harness: Harness) -> None:
    """Not activated, or keys revoked: 451 so the sending server retries; unknown: 550, permanent."""
    harness.run(publish_keys(harness.store, "wanjiru.kamau@isecom.example"))
    harness.run(_revoke(harness, "wanjiru.kamau@isecom.example"))
    with harness.serve(senders=(fr_by_relay(), replace(ke_by_auth(), relays=(LOOPBACK,)))) as port:
        with connect(port) as client:
            assert client.mail(FR_SENDER)[0] == 250
            code, reply = client.rcpt(PENDING_MEMBER)
            assert (code, reply[:5]) == (451, b"4.3.0")
            assert client.rcpt("nobody@isecom.example")[0] == 550
            assert client.rcpt(FR_MEMBER)[0] == 250
            assert client.rcpt("wanjiru.kamau@isecom.example")[0] == 550  # a KE member: FR senders may not
        with connect(port) as client:
            assert client.mail(KE_SENDER)[0] == 250
            code, reply = client.rcpt("wanjiru.kamau@isecom.example")
            assert (code, reply[:5]) == (451, b"4.3.0")  # revoked: deferred until a new key is published
            assert client.rcpt(KE_MEMBER)[0] == 250


async def _revoke(harness: Harness, email: str) -> None:
    async with harness.store.transaction() as tx:
        member = await tx.members.by_email(Email.parse(email))
        assert member is not None
        assert await keydir.revoke_by_platform(tx, AUTHORITY, member, harness.clock.now())
