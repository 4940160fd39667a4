"""Trust by default (issue 15, parts 1 and 2), tried from outside with Python's smtplib and raw IMAP:

- submission refuses a From: or Sender: the account does not own (550 5.7.1 naming the address), accepts it with a
  send-as grant or for a trusted relay, and adds a missing From:;
- SCRAM answers for an unknown user are the same on every attempt (and across a restart) and look like a real user's;
- failed logins lock an address out across IMAP connections (and SMTP), and the lockout ends after its time;
- a disabled account cannot log in on SMTP or IMAP, and its open IDLE session ends within a second or so;
- a credential stored with another iteration count is re-derived at the configured one on the next login.
"""
import base64
import email
import smtplib
import sqlite3
import time

from conftest import Server, run, wait_for
from test_imap import Raw, tls_context as imap_tls
from test_smtp import ALICE, HOST, PASSWORD, stored_messages, tls_context

BOB = "bob@example.test"
BOB_PASSWORD = "builder-of-42"


def submit(server, user, password, sender, recipients, data):
    """Submits over 587 with STARTTLS; returns (code, text) of the DATA reply, or raises on refusals before it."""
    with smtplib.SMTP(HOST, server.port("submission"), timeout=30) as smtp:
        smtp.starttls(context=tls_context(server))
        smtp.login(user, password)
        smtp.mail(sender)
        for recipient in recipients:
            code, text = smtp.rcpt(recipient)
            assert code == 250, (code, text)
        return smtp.data(data)


def letter(from_field, extra=""):
    lines = [f"From: {from_field}"] if from_field is not None else []
    lines += [f"To: {ALICE}", "Subject: trust", "Date: Tue, 08 Dec 2026 01:00:00 +0000", "Message-ID: <t@example.test>"]
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\nbody\r\n").encode()


def add_bob(server):
    run("user", "add", BOB, "--password", BOB_PASSWORD, "--data-dir", str(server.data_dir))


def test_submission_refuses_a_from_the_account_does_not_own(server):
    add_bob(server)
    for forged in ["ceo@example.test", f'"Alice" <{ALICE}>', "=?utf-8?q?Alice?= <ALICE@EXAMPLE.TEST>",
                   f"bob@example.test, {ALICE}"]:
        code, text = submit(server, BOB, BOB_PASSWORD, BOB, [ALICE], letter(forged))
        assert code == 550 and b"5.7.1" in text, (forged, code, text)
        assert b"does not belong to bob@example.test" in text and b"From address" in text, text
    # Sender: is checked the same way.
    code, text = submit(server, BOB, BOB_PASSWORD, BOB, [ALICE], letter(BOB, extra=f"Sender: {ALICE}\r\n"))
    assert code == 550 and b"Sender address <alice@example.test>" in text, text
    assert stored_messages(server) == []
    # Own address, display-name form, plus-address: accepted.
    for own in [BOB, f'"Bob B." <{BOB}>', "Bob <bob+desk@example.test>"]:
        code, text = submit(server, BOB, BOB_PASSWORD, BOB, [ALICE], letter(own))
        assert code == 250, (own, code, text)
    assert len(stored_messages(server)) == 3


def test_send_as_grant_lets_an_agent_answer_from_support(server):
    add_bob(server)
    run("user", "add", "support@example.test", "--password", "helpdesk-queue-77", "--data-dir", str(server.data_dir))
    code, _ = submit(server, BOB, BOB_PASSWORD, BOB, [ALICE], letter("Support <support@example.test>"))
    assert code == 550
    out = run("user", "send-as", "add", BOB, "support@example.test", "--data-dir", str(server.data_dir)).stdout
    assert "may send as support@example.test" in out
    assert run("user", "send-as", "list", BOB, "--data-dir", str(server.data_dir)).stdout.split() == ["support@example.test"]
    # Envelope and header both accepted now.
    code, text = submit(server, BOB, BOB_PASSWORD, "support@example.test", [ALICE], letter("Support <support@example.test>"))
    assert code == 250, text
    stored = stored_messages(server)[-1]
    assert b"DKIM-Signature:" in stored and b"From: Support <support@example.test>" in stored
    run("user", "send-as", "remove", BOB, "support@example.test", "--data-dir", str(server.data_dir))
    code, _ = submit(server, BOB, BOB_PASSWORD, BOB, [ALICE], letter("Support <support@example.test>"))
    assert code == 550
    # A domain grant covers every address of the domain.
    run("user", "send-as", "add", BOB, "@example.test", "--data-dir", str(server.data_dir))
    code, _ = submit(server, BOB, BOB_PASSWORD, BOB, [ALICE], letter("ceo@example.test"))
    assert code == 250
    refused = run("user", "send-as", "add", BOB, "x@elsewhere.test", "--data-dir", str(server.data_dir), check=False)
    assert refused.returncode == 1 and "elsewhere.test" in refused.stderr


def test_trusted_relay_may_send_as_anyone_and_is_listed(server):
    add_bob(server)
    run("user", "update", BOB, "--trusted-relay", "--data-dir", str(server.data_dir))
    assert f"{BOB} (trusted relay)" in run("user", "list", "--data-dir", str(server.data_dir)).stdout
    code, text = submit(server, BOB, BOB_PASSWORD, "noreply@example.test", [ALICE], letter("Helpdesk <noreply@example.test>"))
    assert code == 250, text
    run("user", "update", BOB, "--no-trusted-relay", "--data-dir", str(server.data_dir))
    assert f"{BOB}\n" in run("user", "list", "--data-dir", str(server.data_dir)).stdout


def test_missing_from_gets_the_account_address(server):
    code, _ = submit(server, ALICE, PASSWORD, ALICE, [ALICE], letter(None))
    assert code == 250
    parsed = email.message_from_bytes(stored_messages(server)[-1])
    assert parsed["From"] == f"<{ALICE}>"


def test_check_from_can_be_turned_off(data_dir, tmp_path):
    run("domain", "add", "example.test", "--data-dir", str(data_dir))
    run("user", "add", ALICE, "--password", PASSWORD, "--data-dir", str(data_dir))
    config = tmp_path / "letterbox.toml"
    config.write_text(f'data_dir = "{data_dir}"\n[submission]\ncheck_from = false\n')
    server = Server(data_dir, extra_args=["--config", str(config)])
    try:
        code, _ = submit(server, ALICE, PASSWORD, ALICE, [ALICE], letter("someone@example.test"))
        assert code == 250
    finally:
        server.stop()


def scram_first(server, user):
    """The server-first-message SCRAM-SHA-256 sends for `user` over IMAP, without its nonce; the exchange is cancelled."""
    raw = Raw(server.port("imaps"))
    try:
        first = base64.b64encode(f"n,,n={user},r=abcdefghijklmnop".encode()).decode()
        raw.send("s AUTHENTICATE SCRAM-SHA-256 " + first)
        challenge = raw.read_response()
        assert challenge.startswith("+ "), challenge
        raw.send("*")
        _, tagged = raw.until_tagged("s")
        assert tagged.startswith("s BAD"), tagged
        fields = dict(item.split("=", 1) for item in base64.b64decode(challenge[2:]).decode().split(","))
        assert fields["r"].startswith("abcdefghijklmnop")
        return fields["s"], fields["i"]
    finally:
        raw.close()


def test_scram_does_not_reveal_which_accounts_exist(server, data_dir):
    unknown = [scram_first(server, "nobody@example.test") for _ in range(3)]
    assert unknown[0] == unknown[1] == unknown[2], unknown
    real = scram_first(server, ALICE)
    assert real[1] == unknown[0][1] == "10000", (real, unknown)
    assert len(base64.b64decode(real[0])) == len(base64.b64decode(unknown[0][0])) == 16
    assert scram_first(server, "other@example.test") != unknown[0]
    server.stop()
    again = Server(data_dir)
    try:
        assert scram_first(again, "nobody@example.test") == unknown[0], "stable across a restart"
    finally:
        again.stop()


def imap_login(server, user, password):
    raw = Raw(server.port("imaps"))
    try:
        _, tagged = raw.command(f'LOGIN "{user}" "{password}"')
        return tagged
    finally:
        raw.close()


def test_lockout_across_imap_connections_then_recovery(data_dir, tmp_path):
    run("domain", "add", "example.test", "--data-dir", str(data_dir))
    run("user", "add", ALICE, "--password", PASSWORD, "--data-dir", str(data_dir))
    config = tmp_path / "letterbox.toml"
    config.write_text(f'data_dir = "{data_dir}"\n[auth]\nlockout_threshold = 3\nlockout_duration = 4\n')
    server = Server(data_dir, extra_args=["--config", str(config)])
    try:
        for _ in range(3):
            assert "NO [AUTHENTICATIONFAILED]" in imap_login(server, ALICE, "not-the-password")
        locked = imap_login(server, ALICE, PASSWORD)
        assert "NO [UNAVAILABLE]" in locked, locked
        # The lockout counts across protocols: SMTP AUTH from the same address is refused too (454 4.7.0).
        with smtplib.SMTP(HOST, server.port("submission"), timeout=30) as smtp:
            smtp.starttls(context=tls_context(server))
            try:
                smtp.login(ALICE, PASSWORD)
                raise AssertionError("SMTP AUTH succeeded during a lockout")
            except smtplib.SMTPAuthenticationError as error:
                assert error.smtp_code == 454, error
        # After lockout_duration the right password works again (and clears the record).
        started = time.monotonic()
        wait_for(lambda: " OK " in imap_login(server, ALICE, PASSWORD), timeout=30, what="the lockout to end")
        assert time.monotonic() - started < 20
        _, err = server.output()
        assert "locked out" in err
    finally:
        server.stop()


def test_disabled_account_is_refused_everywhere_and_its_idle_session_ends(server):
    raw = Raw(server.port("imaps"), login=True)
    try:
        raw.command("SELECT INBOX")
        raw.send("i IDLE")
        assert raw.read_response().startswith("+")
        started = time.monotonic()
        out = run("user", "disable", ALICE, "--data-dir", str(server.data_dir)).stdout
        assert f"disabled {ALICE}" in out
        bye = raw.read_response()
        while not bye.startswith("* BYE"):
            bye = raw.read_response()
        assert "account disabled" in bye, bye
        assert time.monotonic() - started < 5
    finally:
        raw.close()
    assert "(disabled)" in run("user", "list", "--data-dir", str(server.data_dir)).stdout
    assert "NO [AUTHENTICATIONFAILED]" in imap_login(server, ALICE, PASSWORD)
    with smtplib.SMTP(HOST, server.port("submission"), timeout=30) as smtp:
        smtp.starttls(context=tls_context(server))
        try:
            smtp.login(ALICE, PASSWORD)
            raise AssertionError("a disabled account logged in over SMTP")
        except smtplib.SMTPAuthenticationError as error:
            assert error.smtp_code == 535
    # Mail to a disabled account is still accepted (its owner may be enabled again).
    with smtplib.SMTP(HOST, server.port("smtp"), timeout=30) as smtp:
        smtp.ehlo("client.test")
        smtp.mail("bob@remote.test")
        assert smtp.rcpt(ALICE)[0] == 250
    run("user", "enable", ALICE, "--data-dir", str(server.data_dir))
    # The earlier failures count toward the lockout, so the first good login may be a few hundred ms slow: no matter.
    assert " OK " in imap_login(server, ALICE, PASSWORD)


def test_old_credential_is_rederived_at_the_configured_count(server):
    database = sqlite3.connect(str(server.data_dir / "letterbox.sqlite"))
    try:
        (credential,) = database.execute("SELECT credential FROM account WHERE address = ?", (ALICE,)).fetchone()
        assert credential.startswith("SCRAM-SHA-256$10000:"), credential
    finally:
        database.close()
    # Re-store the credential at 100,000 iterations (as before this version), then log in with PLAIN: it comes back at 10,000.
    import hashlib, hmac, os
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), salt, 100000)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored = base64.b64encode(hashlib.sha256(client_key).digest()).decode()
    server_key = base64.b64encode(hmac.new(salted, b"Server Key", hashlib.sha256).digest()).decode()
    old = f"SCRAM-SHA-256$100000:{base64.b64encode(salt).decode()}${stored}:{server_key}"
    database = sqlite3.connect(str(server.data_dir / "letterbox.sqlite"))
    try:
        database.execute("UPDATE account SET credential = ? WHERE address = ?", (old, ALICE))
        database.commit()
    finally:
        database.close()
    assert " OK " in imap_login(server, ALICE, PASSWORD)
    database = sqlite3.connect(str(server.data_dir / "letterbox.sqlite"))
    try:
        (credential,) = database.execute("SELECT credential FROM account WHERE address = ?", (ALICE,)).fetchone()
    finally:
        database.close()
    assert credential.startswith("SCRAM-SHA-256$10000:"), credential


def test_one_commit_for_local_and_queued_copies_and_the_250_names_the_queue_id(server):
    """Local copies and the queue entry are one transaction: a failure inside it (injected with a SQLite trigger that
    refuses the queue row) answers 451 and leaves no local copy, so the client's retry does not duplicate; the id in the
    250 reply is the one `letterbox queue list` shows."""
    database = sqlite3.connect(str(server.data_dir / "letterbox.sqlite"))
    try:
        database.execute("CREATE TRIGGER injected_failure BEFORE INSERT ON queue_message BEGIN SELECT RAISE(ABORT, 'injected'); END")
        database.commit()
    finally:
        database.close()
    data = letter(ALICE)
    with smtplib.SMTP(HOST, server.port("submission"), timeout=30) as smtp:
        smtp.starttls(context=tls_context(server))
        smtp.login(ALICE, PASSWORD)
        smtp.mail(ALICE)
        assert smtp.rcpt(ALICE)[0] == 250 and smtp.rcpt("carol@elsewhere.test")[0] == 250
        code, text = smtp.data(data)
    assert code == 451, (code, text)
    assert stored_messages(server) == [], "no local copy survives a failed commit"
    database = sqlite3.connect(str(server.data_dir / "letterbox.sqlite"))
    try:
        database.execute("DROP TRIGGER injected_failure")
        database.commit()
    finally:
        database.close()
    code, text = submit(server, ALICE, PASSWORD, ALICE, [ALICE, "carol@elsewhere.test"], data)
    assert code == 250, text
    queue_id = text.decode().rsplit(" ", 1)[-1]
    assert len(stored_messages(server)) == 1, "the retry delivered exactly one local copy"
    listed = run("queue", "list", "--data-dir", str(server.data_dir)).stdout
    assert queue_id in listed and "carol@elsewhere.test" in listed, (queue_id, listed)
    assert f"id {queue_id}" in stored_messages(server)[0].decode(errors="replace"), "Received names the same id"


def test_imap_append_and_copy_over_quota_get_overquota(server):
    run("user", "quota", ALICE, "3K", "--data-dir", str(server.data_dir))
    raw = Raw(server.port("imaps"), login=True)
    try:
        body = "Subject: q\r\n\r\n" + "x" * 2000 + "\r\n"
        raw.send(f"a APPEND INBOX {{{len(body)}}}")
        assert raw.read_response().startswith("+")
        raw.send(body)
        _, tagged = raw.until_tagged("a")
        assert tagged.startswith("a OK"), tagged
        # A second copy would take the account past 3 KiB: COPY is refused before anything is stored.
        raw.command("SELECT INBOX")
        _, tagged = raw.command("COPY 1 Archive")
        assert "NO [OVERQUOTA]" in tagged, tagged
        # MOVE within the account does not change its usage: allowed.
        _, tagged = raw.command("MOVE 1 Archive")
        assert " OK " in tagged, tagged
        raw.send(f"b APPEND INBOX {{{len(body)}}}")
        response = raw.read_response()
        if response.startswith("+"):
            raw.send(body)
            _, tagged = raw.until_tagged("b")
        else:
            tagged = response
        assert "NO [OVERQUOTA]" in tagged, tagged
        untagged, _ = raw.command("STATUS Archive (MESSAGES)")
        assert any("MESSAGES 1" in line for line in untagged), untagged
        # RFC 9208: the quota meter webmail shows (STORAGE in KiB: about 2 of 3 used).
        untagged, tagged = raw.command("GETQUOTAROOT INBOX")
        assert " OK " in tagged and untagged[0] == '* QUOTAROOT "INBOX" ""', untagged
        assert untagged[1] == '* QUOTA "" (STORAGE 2 3)', untagged
        untagged, tagged = raw.command('GETQUOTA ""')
        assert untagged == ['* QUOTA "" (STORAGE 2 3)'], untagged
        assert "NO [NOPERM]" in raw.command('SETQUOTA "" (STORAGE 100)')[1]
    finally:
        raw.close()
    run("user", "quota", ALICE, "unlimited", "--data-dir", str(server.data_dir))
