"""Sending through a real SMTP server on localhost (aiosmtpd), started and stopped here."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from mailkit import (CONTACTS, NAMES, addresses, attachments, cached_tasklists,  # noqa: F401
                     mail_log, parse, write_config, write_workbook)

from toolkit.config import open_workspace
from toolkit.errors import ConfigError, MailError
from toolkit.mailer import send_mail
from toolkit.periods import parse_period

pytestmark = pytest.mark.usefixtures("cached_tasklists")
P = parse_period("2024H1")
PASSWORD_ENV = "KASHGAR_TEST_SMTP_PASSWORD"


class Inbox:
    """Keeps what arrives; refuses the addresses in ``refuse`` at RCPT, and answers the
    DATA commands numbered in ``drop_at`` (1-based) with 421, closing the session."""

    def __init__(self, refuse=(), drop_at=()):
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse = set(refuse)
        self.drop_at = set(drop_at)
        self.data_commands = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_commands += 1
        if self.data_commands in self.drop_at:
            return "421 4.3.2 Service shutting down"
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              envelope.original_content))
        return "250 2.0.0 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def serve():
    """serve(handler, **controller_options) -> the running controller; all stopped after."""
    running = []

    def start(handler, **options):
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
        controller.start()
        running.append(controller)
        return controller

    yield start
    for controller in running:
        controller.stop()


def workspace(root, port, security="none", units=CONTACTS, **smtp):
    write_config(root, units=units, smtp={"host": "127.0.0.1", "port": port,
                                          "security": security, **smtp},
                 summary_to=("lead@example.gov.cn",))
    for code in units:
        write_workbook(root / "outputs" / "2024H1" / "templates" /
                       f"{code}_{NAMES[code]}_2024H1.xlsx", text=NAMES[code])
    return open_workspace(root)


def template(ws, code):
    return ws.period_dir(P) / "templates" / f"{code}_{NAMES[code]}_2024H1.xlsx"


def check_arrived(ws, inbox, codes):
    """Each unit's message arrived to its contacts, in Chinese, with its template intact."""
    by_unit = {parse(raw)["X-Report-Unit"]: (sender, rcpts, parse(raw))
               for sender, rcpts, raw in inbox.messages}
    assert set(by_unit) == set(codes)
    for code in codes:
        sender, rcpts, msg = by_unit[code]
        assert sender == "office@example.gov.cn"
        assert rcpts == CONTACTS[code] == addresses(msg["To"])
        assert str(msg["Subject"]).startswith("【喀什地区推进新型城镇化行动方案")
        assert NAMES[code] in str(msg["Subject"])
        path = template(ws, code)
        assert attachments(msg) == {path.name: path.read_bytes()}


def test_messages_arrive_with_recipients_chinese_subjects_and_identical_attachments(
        tmp_path, serve):
    inbox = Inbox()
    server = serve(inbox)
    ws = workspace(tmp_path, server.port)
    report = send_mail(ws, "templates", P)
    assert report.transport == "smtp"
    assert {o.unit_code for o in report.outcomes if o.status == "sent"} == set(CONTACTS)
    check_arrived(ws, inbox, CONTACTS)
    log = mail_log(ws.db_path)
    assert {r["unit_code"] for r in log} == set(CONTACTS)
    assert {r["transport"] for r in log} == {"smtp"}
    ids = {parse(raw)["Message-ID"] for _, _, raw in inbox.messages}
    assert ids == {r["message_id"] for r in log}
    import openpyxl  # a different library than wrote it opens the received workbook

    raw = next(raw for _, _, raw in inbox.messages if parse(raw)["X-Report-Unit"] == "653121")
    (data,) = attachments(parse(raw)).values()
    received = tmp_path / "received.xlsx"
    received.write_bytes(data)
    assert openpyxl.load_workbook(received)["指标填报"]["A1"].value == "疏附县 0"


def test_a_rerun_sends_nothing_twice_unless_resend(tmp_path, serve):
    inbox = Inbox()
    ws = workspace(tmp_path, serve(inbox).port)
    send_mail(ws, "templates", P)
    again = send_mail(ws, "templates", P)
    assert {o.status for o in again.outcomes if o.unit_code in CONTACTS} == {"skipped"}
    assert len(inbox.messages) == 3
    send_mail(ws, "templates", P, resend=True)
    assert len(inbox.messages) == 6
    assert len(mail_log(ws.db_path)) == 6


def test_a_refused_recipient_is_reported_and_not_marked_sent(tmp_path, serve):
    inbox = Inbox(refuse={"shufu@example.cn"})
    ws = workspace(tmp_path, serve(inbox).port)
    report = send_mail(ws, "templates", P)
    (failed,) = report.failed
    assert failed.unit_code == "653121" and failed.status == "failed"
    assert "shufu@example.cn" in failed.detail and "550" in failed.detail
    assert "User unknown" in failed.detail
    assert {r["unit_code"] for r in mail_log(ws.db_path)} == {"653101", "653122"}
    check_arrived(ws, inbox, ("653101", "653122"))
    with pytest.raises(MailError, match="653121"):
        report.raise_for_failures()
    # once the address works, the same command sends only what is missing
    inbox.refuse.clear()
    again = send_mail(ws, "templates", P)
    assert [o.unit_code for o in again.outcomes if o.status == "sent"] == ["653121"]


def test_one_refused_address_of_two_is_reported_the_other_gets_it(tmp_path, serve):
    inbox = Inbox(refuse={"kashi.2@example.cn"})
    ws = workspace(tmp_path, serve(inbox).port)
    report = send_mail(ws, "templates", P)
    kashi = next(o for o in report.outcomes if o.unit_code == "653101")
    assert kashi.status == "sent" and kashi.refused == ("kashi.2@example.cn",)
    assert kashi.recipients == ("kashi@example.cn",)
    assert report.failed == [kashi]
    row = next(r for r in mail_log(ws.db_path) if r["unit_code"] == "653101")
    assert row["recipients"] == "kashi@example.cn"
    inbox.refuse.clear()
    again = send_mail(ws, "templates", P)
    (resent,) = [o for o in again.outcomes if o.status == "sent"]
    assert resent.recipients == ("kashi.2@example.cn",)


def test_a_server_lost_mid_run_keeps_what_it_accepted(tmp_path, serve):
    inbox = Inbox(drop_at={2})
    ws = workspace(tmp_path, serve(inbox).port)
    seen = []
    with pytest.raises(MailError) as err:
        send_mail(ws, "templates", P, on_outcome=seen.append)
    assert "127.0.0.1" in str(err.value) and "已发送 1 封并已记录" in str(err.value)
    assert [r["unit_code"] for r in mail_log(ws.db_path)] == ["653101"]
    assert [o.status for o in seen if o.unit_code in CONTACTS] == ["sent", "failed"]
    assert err.value.report.outcomes == seen


def test_a_closed_port_is_a_clear_error_and_nothing_is_marked_sent(tmp_path):
    ws = workspace(tmp_path, free_port())
    with pytest.raises(MailError) as err:
        send_mail(ws, "templates", P)
    text = str(err.value)
    assert "127.0.0.1" in text and "[smtp]" in text and "未发送任何邮件" in text
    assert mail_log(ws.db_path) == []


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = _text(auth_data.login) == "office" and _text(auth_data.password) == "right-password"
    return AuthResult(success=ok, handled=False)  # not handled: the server answers 535


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_a_refused_login_is_a_clear_error_and_nothing_is_sent(tmp_path, serve, monkeypatch):
    inbox = Inbox()
    server = serve(inbox, authenticator=authenticator, auth_required=True,
                   auth_require_tls=False)
    ws = workspace(tmp_path, server.port, user="office", password_env=PASSWORD_ENV)
    monkeypatch.setenv(PASSWORD_ENV, "wrong-password")
    with pytest.raises(MailError) as err:
        send_mail(ws, "templates", P, lang="en")
    assert "refused the login of office" in str(err.value)
    assert PASSWORD_ENV in str(err.value) and "535" in str(err.value)
    assert inbox.messages == [] and mail_log(ws.db_path) == []
    monkeypatch.setenv(PASSWORD_ENV, "right-password")
    send_mail(ws, "templates", P)
    check_arrived(ws, inbox, CONTACTS)


def test_an_unset_password_variable_is_named(tmp_path, monkeypatch):
    ws = workspace(tmp_path, free_port(), user="office", password_env=PASSWORD_ENV)
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    with pytest.raises(ConfigError, match=PASSWORD_ENV):
        send_mail(ws, "templates", P)


def test_ssl_against_a_plain_server_says_check_security(tmp_path, serve):
    ws = workspace(tmp_path, serve(Inbox()).port, security="ssl")
    with pytest.raises(MailError, match=r"\[smtp\] security"):
        send_mail(ws, "templates", P)
    assert mail_log(ws.db_path) == []


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed: TLS tests need a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


def test_ssl(tmp_path, serve, certificate):
    server_ctx, client_ctx = certificate
    inbox = Inbox()
    ws = workspace(tmp_path, serve(inbox, ssl_context=server_ctx).port, security="ssl")
    send_mail(ws, "templates", P, ssl_context=client_ctx)
    check_arrived(ws, inbox, CONTACTS)


def test_starttls_with_login(tmp_path, serve, certificate, monkeypatch):
    server_ctx, client_ctx = certificate
    inbox = Inbox()
    server = serve(inbox, tls_context=server_ctx, require_starttls=True,
                   authenticator=authenticator, auth_required=True)
    ws = workspace(tmp_path, server.port, security="starttls", user="office",
                   password_env=PASSWORD_ENV)
    monkeypatch.setenv(PASSWORD_ENV, "right-password")
    send_mail(ws, "templates", P, ssl_context=client_ctx)
    check_arrived(ws, inbox, CONTACTS)


def test_an_untrusted_certificate_is_refused_before_anything_is_sent(tmp_path, serve,
                                                                     certificate):
    server_ctx, _ = certificate
    inbox = Inbox()
    ws = workspace(tmp_path, serve(inbox, ssl_context=server_ctx).port, security="ssl")
    with pytest.raises(MailError, match="CERTIFICATE_VERIFY_FAILED"):
        send_mail(ws, "templates", P)  # the system's trust store does not know it
    assert inbox.messages == [] and mail_log(ws.db_path) == []
