"""Interop tests of the SMTP server (issue 4): MX on the smtp port, submission on submission (STARTTLS) and submissions
(implicit TLS), driven by real clients (Python smtplib, swaks, curl) and raw sockets, with each delivered message read back
from the store (DATA_DIR/letterbox.sqlite → blob → DATA_DIR/blobs/xx/<sha256>) and compared byte for byte."""
import base64
import hashlib
import hmac
import os
import signal
import smtplib
import socket
import sqlite3
import ssl
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import Server, run

ALICE = "alice@example.test"
PASSWORD = "wonderland-42"
HOST = "127.0.0.1"


def tls_context(server=None):
    """A client context that trusts the server's self-signed certificate (or, without a server, anything)."""
    if server is None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    context = ssl.create_default_context(cafile=str(server.data_dir / "tls" / "self-signed.pem"))
    context.check_hostname = False  # the certificate names the machine's host name, we connect to 127.0.0.1
    return context


def message(subject, body="Hello.\r\n", extra="", sender="Bob <bob@remote.test>"):
    """A message From `sender` (submission checks From against the login: pass `sender=ALICE` there)."""
    return (f"From: {sender}\r\nTo: {ALICE}\r\nSubject: {subject}\r\n"
            f"Date: Fri, 27 Nov 2026 03:00:00 +0000\r\nMessage-ID: <{subject.replace(' ', '-')}@remote.test>\r\n"
            f"{extra}\r\n{body}").encode()


def stored_messages(server, account=ALICE):
    """Raw bytes of every message in the account's INBOX, by UID."""
    database = sqlite3.connect(str(server.data_dir / "letterbox.sqlite"))
    try:
        rows = database.execute(
            "SELECT m.blob FROM message m JOIN mailbox b ON b.id = m.mailbox_id JOIN account a ON a.id = b.account_id "
            "WHERE a.address = ? AND b.name = 'INBOX' ORDER BY m.uid", (account,)).fetchall()
    finally:
        database.close()
    return [(server.data_dir / "blobs" / blob[:2] / blob).read_bytes() for (blob,) in rows]


def queued_messages(server):
    """(sender, [recipients], bytes) of every message in the outbound queue."""
    database = sqlite3.connect(str(server.data_dir / "letterbox.sqlite"))
    try:
        rows = database.execute("SELECT id, sender, blob FROM queue_message ORDER BY created_at").fetchall()
        result = []
        for queue_id, sender, blob in rows:
            recipients = [r for (r,) in database.execute("SELECT address FROM queue_recipient WHERE queue_id = ?", (queue_id,))]
            result.append((sender, recipients, (server.data_dir / "blobs" / blob[:2] / blob).read_bytes()))
        return result
    finally:
        database.close()


def split_trace(raw):
    """Splits the fields the server puts on top (Return-Path, Received, DKIM-Signature on submission,
    Authentication-Results on the MX port, with continuation lines) off a stored message."""
    lines = raw.split(b"\r\n")
    trace = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith((b"Return-Path:", b"Received:", b"DKIM-Signature:", b"Authentication-Results:")) or (trace and line[:1] in (b" ", b"\t")):
            trace.append(line)
            index += 1
        else:
            break
    return b"\r\n".join(trace), b"\r\n".join(lines[index:])


def assert_stored_as_sent(server, sent, count=1):
    stored = stored_messages(server)
    assert len(stored) == count, f"expected {count} stored message(s), found {len(stored)}"
    trace, rest = split_trace(stored[-1])
    assert rest == sent
    assert trace.startswith(b"Return-Path: <")
    assert b"\r\nReceived: from " in trace
    return trace


class Raw:
    """A line-oriented raw SMTP client for pipelining, smuggling and relay tests."""

    def __init__(self, port, implicit_tls=False, source=None):
        sock = socket.create_connection((HOST, port), timeout=30, source_address=(source, 0) if source else None)
        self.sock = tls_context().wrap_socket(sock) if implicit_tls else sock
        self.file = self.sock.makefile("rb")

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def reply(self):
        """One complete (possibly multi-line) reply: (code, text of all lines)."""
        lines = []
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError("connection closed; got " + repr(lines))
            lines.append(line.decode().rstrip("\r\n"))
            if len(line) < 4 or line[3:4] != b"-":
                return int(lines[-1][:3]), "\n".join(lines)

    def command(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def starttls(self):
        code, _ = self.command("STARTTLS")
        assert code == 220
        self.sock = tls_context().wrap_socket(self.sock)
        self.file = self.sock.makefile("rb")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def greet(port, **kwargs):
    client = Raw(port, **kwargs)
    assert client.reply()[0] == 220
    assert client.command("EHLO client.test")[0] == 250
    return client


def authenticated_submission(server):
    smtp = smtplib.SMTP(HOST, server.port("submission"), timeout=30)
    smtp.starttls(context=tls_context(server))
    smtp.login(ALICE, PASSWORD)
    return smtp


# MARK: MX

def test_mx_delivers_over_starttls_and_stores_the_exact_bytes(server):
    sent = message("mx over starttls")
    with smtplib.SMTP(HOST, server.port("smtp"), timeout=30) as smtp:
        smtp.starttls(context=tls_context(server))
        code, _ = smtp.ehlo("client.test")
        assert code == 250
        refused = smtp.sendmail("bob@remote.test", [ALICE], sent)
        assert refused == {}
    trace = assert_stored_as_sent(server, sent)
    assert b"Return-Path: <bob@remote.test>" in trace
    assert b" with ESMTPS id " in trace
    assert b"(version=TLSv1." in trace
    assert b"for <alice@example.test>;" in trace


def test_mx_delivers_in_cleartext_with_esmtp_received(server):
    sent = message("mx cleartext")
    with smtplib.SMTP(HOST, server.port("smtp"), timeout=30) as smtp:
        assert smtp.sendmail("bob@remote.test", [ALICE], sent) == {}
    trace = assert_stored_as_sent(server, sent)
    assert b" with ESMTP id " in trace and b"from " in trace and b"[127.0.0.1]" in trace


def test_mx_resolves_plus_addresses_and_refuses_unknown_users(server):
    sent = message("plus address")
    with smtplib.SMTP(HOST, server.port("smtp"), timeout=30) as smtp:
        smtp.ehlo("client.test")
        smtp.mail("bob@remote.test")
        code, text = smtp.rcpt("nobody@example.test")
        assert code == 550 and b"5.1.1" in text
        assert smtp.rcpt("alice+lists@example.test")[0] == 250
        assert smtp.data(sent)[0] == 250
    assert_stored_as_sent(server, sent)


def test_mx_delivers_to_aliases(server):
    run("alias", "add", "sales@example.test", ALICE, "--data-dir", str(server.data_dir))
    sent = message("alias")
    with smtplib.SMTP(HOST, server.port("smtp"), timeout=30) as smtp:
        assert smtp.sendmail("bob@remote.test", ["sales@example.test"], sent) == {}
    assert_stored_as_sent(server, sent)


@pytest.mark.parametrize("recipient", [
    "<bob@other.test>",
    '<"bob@other.test"@example.test>',
    "<bob%other.test@example.test>",
    "<@example.test:bob@other.test>",
    "<@example.test,@relay.test:bob@other.test>",
    "<bob@other.test@example.test>",
    "<other.test!bob@example.test>",
    "<bob@[192.0.2.1]>",
])
def test_mx_refuses_every_relay_trick(server, recipient):
    client = greet(server.port("smtp"))
    assert client.command("MAIL FROM:<bob@remote.test>")[0] == 250
    code, text = client.command(f"RCPT TO:{recipient}")
    assert code in (550, 554), text
    assert "5.7.1" in text or recipient == "<bob@[192.0.2.1]>", text
    assert client.command("QUIT")[0] == 221
    client.close()
    assert queued_messages(server) == []


def test_mx_offers_auth_only_after_starttls(server):
    client = greet(server.port("smtp"))
    _, text = client.command("EHLO client.test")
    assert "STARTTLS" in text and "AUTH" not in text
    code, text = client.command("AUTH PLAIN " + base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode())
    assert code == 538 and "5.7.11" in text
    client.starttls()
    code, text = client.command("EHLO client.test")
    assert code == 250 and "AUTH PLAIN LOGIN SCRAM-SHA-256" in text and "STARTTLS" not in text
    client.close()


# MARK: Submission

def test_submission_refuses_auth_and_mail_before_tls(server):
    client = greet(server.port("submission"))
    _, text = client.command("EHLO client.test")
    assert "AUTH" not in text
    code, text = client.command("AUTH LOGIN")
    assert code == 538, text
    code, text = client.command("MAIL FROM:<alice@example.test>")
    assert code == 530 and "5.7.0" in text
    client.close()


def test_submission_with_plain_delivers_locally_and_adds_missing_date_and_message_id(server):
    sent = b"From: alice@example.test\r\nTo: alice@example.test\r\nSubject: no date\r\n\r\nBody line.\r\n"
    with authenticated_submission(server) as smtp:
        assert smtp.sendmail(ALICE, [ALICE], sent) == {}
    stored = stored_messages(server)
    assert len(stored) == 1
    trace, rest = split_trace(stored[0])
    assert b" with ESMTPSA id " in trace and b"authenticated as alice@example.test" in trace
    added, _, original = rest.partition(b"From: alice@example.test")
    assert b"From: alice@example.test" + original == sent
    assert added.startswith(b"Date: ") and b"\r\nMessage-ID: <" in added and added.endswith(b">\r\n")


def test_submission_keeps_what_the_user_wrote(server):
    sent = message("complete headers", body="Line one.\r\n..leading dot kept as one dot\r\n", sender=ALICE)
    with authenticated_submission(server) as smtp:
        assert smtp.sendmail(ALICE, [ALICE], sent) == {}
    stored = stored_messages(server)
    _, rest = split_trace(stored[0])
    assert rest == sent


def test_submission_login_mechanism_and_remote_recipient_is_queued(server):
    sent = message("to the world", sender=ALICE)
    with smtplib.SMTP(HOST, server.port("submission"), timeout=30) as smtp:
        smtp.starttls(context=tls_context(server))
        smtp.ehlo("client.test")
        smtp.user, smtp.password = ALICE, PASSWORD
        code, _ = smtp.auth("LOGIN", smtp.auth_login, initial_response_ok=False)
        assert code == 235
        assert smtp.sendmail(ALICE, ["carol@elsewhere.test", ALICE], sent) == {}
    queued = queued_messages(server)
    assert len(queued) == 1
    sender, recipients, raw = queued[0]
    assert sender == ALICE and recipients == ["carol@elsewhere.test"]
    trace, rest = split_trace(raw)
    assert rest == sent and not trace.startswith(b"Return-Path")
    assert_stored_as_sent(server, sent)


def test_submissions_implicit_tls(server):
    sent = message("implicit tls", sender=ALICE)
    with smtplib.SMTP_SSL(HOST, server.port("submissions"), timeout=30, context=tls_context(server)) as smtp:
        smtp.login(ALICE, PASSWORD)
        assert smtp.sendmail(ALICE, [ALICE], sent) == {}
    trace = assert_stored_as_sent(server, sent)
    assert b"ESMTPSA" in trace


def test_submission_refuses_a_sender_the_user_does_not_own(server):
    with authenticated_submission(server) as smtp:
        code, text = smtp.mail("mallory@example.test")
        assert code == 553 and b"5.7.1" in text
        assert smtp.mail("alice+tag@example.test")[0] == 250


def test_wrong_password_is_refused_and_not_logged(server):
    smtp = smtplib.SMTP(HOST, server.port("submission"), timeout=30)
    smtp.starttls(context=tls_context(server))
    with pytest.raises(smtplib.SMTPAuthenticationError) as failure:
        smtp.login(ALICE, "not-the-password-77")
    assert failure.value.smtp_code == 535 and b"5.7.8" in failure.value.smtp_error
    smtp.close()
    _, _, err = server.stop()
    assert "not-the-password-77" not in err
    assert base64.b64encode(f"\0{ALICE}\0not-the-password-77".encode()).decode() not in err


def scram_login(client, user, password):
    """A minimal SCRAM-SHA-256 client (RFC 5802, RFC 7677) over AUTH; returns the final reply code."""
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = f"n={user},r={nonce}"
    code, text = client.command("AUTH SCRAM-SHA-256 " + base64.b64encode(("n,," + first_bare).encode()).decode())
    assert code == 334, text
    server_first = base64.b64decode(text[4:]).decode()
    fields = dict(part.split("=", 1) for part in server_first.split(","))
    assert fields["r"].startswith(nonce)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(fields["s"]), int(fields["i"]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    final_without_proof = f"c=biws,r={fields['r']}"
    auth_message = f"{first_bare},{server_first},{final_without_proof}".encode()
    signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    final = f"{final_without_proof},p={base64.b64encode(proof).decode()}"
    code, text = client.command(base64.b64encode(final.encode()).decode())
    if code != 334:
        return code
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    expected = base64.b64encode(hmac.new(server_key, auth_message, hashlib.sha256).digest()).decode()
    assert base64.b64decode(text[4:]).decode() == "v=" + expected
    code, _ = client.command("")
    return code


def test_scram_sha_256_login_and_submission(server):
    client = greet(server.port("submissions"), implicit_tls=True)
    assert scram_login(client, ALICE, PASSWORD) == 235
    sent = message("scram", sender=ALICE)
    assert client.command(f"MAIL FROM:<{ALICE}>")[0] == 250
    assert client.command(f"RCPT TO:<{ALICE}>")[0] == 250
    assert client.command("DATA")[0] == 354
    client.send(sent + b".\r\n")
    assert client.reply()[0] == 250
    client.close()
    assert_stored_as_sent(server, sent)


def test_scram_with_wrong_password_fails(server):
    client = greet(server.port("submissions"), implicit_tls=True)
    assert scram_login(client, ALICE, "wrong-password-99") == 535
    client.close()


# MARK: Real clients

def test_swaks_mx_and_submission(server):
    for args in (
        ["--server", f"{HOST}:{server.port('smtp')}", "--tls", "--from", "bob@remote.test"],
        ["--server", f"{HOST}:{server.port('submission')}", "--tls", "--from", ALICE, "--auth", "PLAIN",
         "--auth-user", ALICE, "--auth-password", PASSWORD],
        ["--server", f"{HOST}:{server.port('submissions')}", "--tls-on-connect", "--from", ALICE, "--auth", "LOGIN",
         "--auth-user", ALICE, "--auth-password", PASSWORD],
    ):
        result = subprocess.run(["swaks", "--to", ALICE, "--header", "Subject: swaks", *args],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
    assert len(stored_messages(server)) == 3


def test_curl_smtp_and_smtps(server, tmp_path):
    sent = message("curl", sender=ALICE)
    path = tmp_path / "mail.eml"
    path.write_bytes(sent)
    cafile = str(server.data_dir / "tls" / "self-signed.pem")
    for url, extra in (
        (f"smtp://{HOST}:{server.port('smtp')}", ["--ssl-reqd", "-k", "--mail-from", "bob@remote.test"]),
        (f"smtp://{HOST}:{server.port('submission')}",
         ["--ssl-reqd", "-k", "--mail-from", ALICE, "--user", f"{ALICE}:{PASSWORD}"]),
        (f"smtps://{HOST}:{server.port('submissions')}", ["--cacert", cafile, "--insecure", "--mail-from", ALICE,
                                                           "--user", f"{ALICE}:{PASSWORD}"]),
    ):
        result = subprocess.run(["curl", "-sS", "--url", url, "--mail-rcpt", ALICE, "--upload-file", str(path), *extra],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
    stored = stored_messages(server)
    assert len(stored) == 3
    for raw in stored:
        assert split_trace(raw)[1] == sent


# MARK: Protocol edges on raw sockets

def test_pipelined_commands_get_replies_in_order(server):
    client = greet(server.port("smtp"))
    sent = message("pipelined")
    client.send(f"MAIL FROM:<bob@remote.test>\r\nRCPT TO:<{ALICE}>\r\nRCPT TO:<nobody@example.test>\r\n"
                "RCPT TO:<bob@other.test>\r\nDATA\r\n")
    codes = [client.reply()[0] for _ in range(5)]
    assert codes == [250, 250, 550, 554, 354]
    client.send(sent + b".\r\nNOOP\r\nQUIT\r\n")
    assert [client.reply()[0] for _ in range(3)] == [250, 250, 221]
    client.close()
    assert_stored_as_sent(server, sent)


@pytest.mark.parametrize("fake_end", [b"\n.\r\n", b"\r\n.\n", b"\n.\n", b"\r.\r\n", b"\r\n.\r"])
def test_smuggling_never_creates_a_second_message(server, fake_end):
    client = greet(server.port("smtp"))
    smuggled = (b"MAIL FROM:<admin@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
                b"Subject: smuggled\r\n\r\nevil\r\n.\r\n")
    payload = b"Subject: outer\r\n\r\nfirst part" + fake_end + smuggled
    assert client.command("MAIL FROM:<bob@remote.test>")[0] == 250
    assert client.command(f"RCPT TO:<{ALICE}>")[0] == 250
    assert client.command("DATA")[0] == 354
    client.send(payload)
    code, _ = client.reply()
    client.send("QUIT\r\n")
    replies = []
    try:
        while True:
            replies.append(client.reply()[0])
    except (ConnectionError, OSError):
        pass
    client.close()
    stored = stored_messages(server)
    assert len(stored) <= 1
    assert all(not split_trace(raw)[1].startswith(b"Subject: smuggled") for raw in stored)
    if code == 250:  # accepted as one message: the smuggled commands are part of its body
        assert b"Subject: smuggled" in stored[0]


def test_recipient_limit_gives_452(server):
    client = greet(server.port("smtp"))
    assert client.command("MAIL FROM:<bob@remote.test>")[0] == 250
    client.send("".join(f"RCPT TO:<alice+{n}@example.test>\r\n" for n in range(101)))
    codes = [client.reply()[0] for _ in range(101)]
    assert codes[:100] == [250] * 100
    assert codes[100] == 452
    client.close()


def test_declared_size_over_the_limit_gives_552(server):
    client = greet(server.port("smtp"))
    _, text = client.command("EHLO client.test")
    assert "SIZE 52428800" in text
    code, text = client.command("MAIL FROM:<bob@remote.test> SIZE=52428801")
    assert code == 552 and "5.3.4" in text
    client.close()


def test_oversized_body_gives_552_and_stores_nothing(server):
    client = greet(server.port("smtp"))
    assert client.command("MAIL FROM:<bob@remote.test>")[0] == 250
    assert client.command(f"RCPT TO:<{ALICE}>")[0] == 250
    assert client.command("DATA")[0] == 354
    line = b"x" * 998 + b"\r\n"
    chunk = line * 1024  # 1,024,000 octets
    for _ in range(52):
        client.send(chunk)
    client.send(b".\r\n")
    code, text = client.reply()
    assert code == 552, text
    client.close()
    assert stored_messages(server) == []


def test_connection_dropped_mid_data_leaves_nothing(server):
    client = greet(server.port("smtp"))
    assert client.command("MAIL FROM:<bob@remote.test>")[0] == 250
    assert client.command(f"RCPT TO:<{ALICE}>")[0] == 250
    assert client.command("DATA")[0] == 354
    client.send(b"Subject: cut\r\n\r\nhalf a message")
    client.close()
    # The server is still healthy, and the cut message was not stored.
    sent = message("after the cut")
    with smtplib.SMTP(HOST, server.port("smtp"), timeout=30) as smtp:
        assert smtp.sendmail("bob@remote.test", [ALICE], sent) == {}
    assert_stored_as_sent(server, sent)


def test_plaintext_pipelined_after_starttls_drops_the_connection(server):
    client = greet(server.port("smtp"))
    client.send("STARTTLS\r\nMAIL FROM:<bob@remote.test>\r\n")
    data = b""
    try:
        while True:
            more = client.sock.recv(4096)
            if not more:
                break
            data += more
    except OSError:
        pass
    client.close()
    assert b"250 " not in data


# MARK: Load and shutdown

def test_many_concurrent_connections_all_deliver(server):
    count = 500
    # The listener allows 20 connections per address: spread the clients over loopback source addresses.
    def send(n):
        source = f"127.0.{1 + n // 250}.{1 + n % 250}"
        body = message(f"concurrent {n}")
        with smtplib.SMTP(HOST, server.port("smtp"), timeout=120, source_address=(source, 0)) as smtp:
            return smtp.sendmail("bob@remote.test", [ALICE], body)
    drain(server)
    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(send, range(count)))
    assert results == [{}] * count
    subjects = sorted(split_trace(raw)[1].split(b"\r\n")[2] for raw in stored_messages(server))
    assert subjects == sorted(f"Subject: concurrent {n}".encode() for n in range(count))


def drain(server):
    """Keeps reading the server's output so that a busy log never fills the pipe and blocks the server."""
    for stream in (server.process.stdout, server.process.stderr):
        if stream is not None:  # conftest sends output to files; nothing to drain then
            threading.Thread(target=lambda s=stream: [None for _ in s], daemon=True).start()


def test_over_limit_connections_get_421(server):
    clients = [greet(server.port("smtp")) for _ in range(20)]
    extra = Raw(server.port("smtp"))
    code, text = extra.reply()
    assert code == 421 and "4.7.0" in text
    for client in clients + [extra]:
        client.close()


def test_graceful_shutdown_finishes_the_transaction_then_says_421(server):
    idle = greet(server.port("smtp"))
    busy = greet(server.port("smtp"))
    assert busy.command("MAIL FROM:<bob@remote.test>")[0] == 250
    assert busy.command(f"RCPT TO:<{ALICE}>")[0] == 250
    assert busy.command("DATA")[0] == 354
    sent = message("in flight")
    busy.send(sent[:20])
    server.process.send_signal(signal.SIGTERM)
    code, text = idle.reply()
    assert code == 421, text
    busy.send(sent[20:] + b".\r\n")
    assert busy.reply()[0] == 250
    code, _ = busy.reply()
    assert code == 421
    returncode, _, _ = server.stop()
    assert returncode == 0
    assert_stored_as_sent(server, sent)
