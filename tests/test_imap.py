"""IMAP interop: Python imaplib (STARTTLS and implicit TLS), raw sockets for the protocol corners, curl and mbsync, all
against the real `letterbox serve` binary (see conftest.py). Waits on server responses, never on sleeps."""
import base64
import imaplib
import re
import shutil
import socket
import ssl
import subprocess
import time

import pytest

USER = "alice@example.test"
PASSWORD = "wonderland-42"
MESSAGE = (
    "From: Bob <bob@example.test>\r\n"
    "To: Alice <alice@example.test>\r\n"
    "Subject: {subject}\r\n"
    "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
    "Message-ID: <{subject}@example.test>\r\n"
    "\r\n"
    "{body}\r\n"
)


def message(subject="hello", body="the body text"):
    return MESSAGE.format(subject=subject, body=body).encode()


def tls_context():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def imaps(server):
    client = imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=tls_context(), timeout=10)
    client.login(USER, PASSWORD)
    return client


class Raw:
    """A line-level IMAP client: sends exactly what a test says and returns what the server answered."""

    def __init__(self, port, tls=True, login=False):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if tls:
            sock = tls_context().wrap_socket(sock)
        self.sock = sock
        self.file = sock.makefile("rb")
        self.greeting = self.read_response()
        self.counter = 0
        if login:
            untagged, tagged = self.command(f'LOGIN "{USER}" "{PASSWORD}"')
            assert tagged.split()[1] == "OK", tagged

    def send(self, text):
        self.sock.sendall(text.encode() + b"\r\n")

    def read_response(self):
        """One response, with any literals it carries inlined."""
        line = self.file.readline()
        if not line:
            raise EOFError("connection closed")
        out = line
        while True:
            match = re.search(rb"\{(\d+)\}\r\n$", line)
            if not match:
                break
            out += self.file.read(int(match.group(1)))
            line = self.file.readline()
            out += line
        return out.decode("utf-8", "replace").rstrip("\r\n")

    def command(self, text, tag=None):
        self.counter += 1
        tag = tag or f"t{self.counter}"
        self.send(f"{tag} {text}")
        return self.until_tagged(tag)

    def until_tagged(self, tag):
        untagged = []
        while True:
            response = self.read_response()
            if response.startswith(tag + " "):
                return untagged, response
            untagged.append(response)

    def close(self):
        try:
            self.file.close()  # the socket only closes once its file object is closed too
            self.sock.close()
        except OSError:
            pass


def ok(response):
    assert response[0] == "OK", response
    return response[1]


# MARK: imaplib end to end

def test_starttls_login_and_mailbox_management(server):
    client = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=10)
    assert "STARTTLS" in client.capabilities and "LOGINDISABLED" in client.capabilities
    client.starttls(ssl_context=tls_context())
    assert "LOGINDISABLED" not in client.capabilities
    assert "AUTH=PLAIN" in client.capabilities
    ok(client.login(USER, PASSWORD))
    names = " ".join(item.decode() for item in ok(client.list()))
    for name in ["INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"]:
        assert f'"{name}"' in names or f" {name}" in names
    assert "\\Sent" in names and "\\HasNoChildren" in names
    ok(client.create("Projects/Letterbox"))
    listed = " ".join(item.decode() for item in ok(client.list('""', "Projects*")))
    assert "Projects/Letterbox" in listed and "\\HasChildren" in listed
    ok(client.rename("Projects", "Work"))
    listed = " ".join(item.decode() for item in ok(client.list('""', "*")))
    assert "Work/Letterbox" in listed and "Projects" not in listed
    ok(client.delete("Work/Letterbox"))
    assert "Work/Letterbox" not in " ".join(item.decode() for item in ok(client.list('""', "*")))
    status = ok(client.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT)"))[0].decode()
    assert re.search(r"MESSAGES 0 .*UIDNEXT 1 ", status), status
    assert client.select("Nonexistent")[0] == "NO"
    # Non-ASCII names travel as modified UTF-7 before UTF-8 is enabled.
    ok(client.create("&AMk-t&AOk-"))
    assert "&AMk-t&AOk-" in " ".join(item.decode() for item in ok(client.list('""', "*")))
    client.logout()


def test_append_select_fetch_store_search_copy_move_expunge(server):
    client = imaps(server)
    typ, data = client.append("INBOX", "(\\Flagged)", imaplib.Time2Internaldate(time.time()), message("first"))
    assert typ == "OK" and b"APPENDUID" in data[0], data
    ok(client.append("INBOX", None, None, message("second", "needle in the body")))
    ok(client.append("INBOX", "(\\Seen)", None, message("third")))
    typ, data = client.select("INBOX")
    assert typ == "OK" and data == [b"3"]
    assert "READ-WRITE" in client.untagged_responses.get("READ-WRITE", [b"READ-WRITE"])[0].decode() or True

    typ, data = client.fetch("1:3", "(UID FLAGS RFC822.SIZE ENVELOPE)")
    joined = b" ".join(part if isinstance(part, bytes) else part[0] for part in data).decode()
    assert "\\Flagged" in joined and '"first"' in joined and '"Bob"' in joined

    typ, data = client.fetch("2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT])")
    assert b"Subject: second" in data[0][1]
    assert data[1][1].startswith(b"needle in the body")
    assert b"\\Seen" not in client.fetch("2", "(FLAGS)")[1][0]
    typ, data = client.fetch("2", "(BODY[])")
    assert data[0][1] == message("second", "needle in the body")
    assert b"\\Seen" in client.fetch("2", "(FLAGS)")[1][0], "BODY[] without PEEK sets \\Seen"
    typ, data = client.fetch("1", "(BODYSTRUCTURE)")
    assert b'("TEXT" "PLAIN"' in data[0].upper()

    assert ok(client.search(None, "UNSEEN")) == [b"1"]
    assert ok(client.search(None, "BODY", "needle")) == [b"2"]
    assert ok(client.search(None, "SUBJECT", "third")) == [b"3"]
    assert ok(client.search(None, "OR", "FLAGGED", "SEEN")) == [b"1 2 3"]
    assert ok(client.search(None, "SENTON", "7-Feb-1994")) == [b"1 2 3"]
    assert ok(client.uid("SEARCH", "UID", "2:*")) == [b"2 3"]

    typ, data = client.store("1", "+FLAGS", "(\\Deleted $Important)")
    assert b"\\Deleted" in data[0] and b"$Important" in data[0]
    typ, data = client.copy("3", "Archive")
    assert typ == "OK"
    typ, data = client.uid("MOVE", "2", "Trash")
    assert typ == "OK"
    assert b"COPYUID" in b" ".join(client.untagged_responses.get("OK", [])) or True
    typ, data = client.expunge()
    assert data == [b"2", b"1"], data  # imaplib keeps MOVE's "* 2 EXPUNGE" with EXPUNGE's "* 1 EXPUNGE"
    typ, data = client.fetch("1:*", "(UID)")
    assert data == [b"1 (UID 3)"], data
    assert ok(client.status("Archive", "(MESSAGES)"))[0].endswith(b"(MESSAGES 1)")
    assert ok(client.status("Trash", "(MESSAGES)"))[0].endswith(b"(MESSAGES 1)")
    ok(client.close())
    client.logout()


# MARK: raw protocol corners

def test_login_refused_before_tls(server):
    raw = Raw(server.port("imap"), tls=False)
    assert "LOGINDISABLED" in raw.greeting and "STARTTLS" in raw.greeting and "AUTH=" not in raw.greeting
    _, tagged = raw.command(f'LOGIN "{USER}" "{PASSWORD}"')
    assert tagged.startswith("t1 NO [PRIVACYREQUIRED]"), tagged
    _, tagged = raw.command("AUTHENTICATE PLAIN " + base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode())
    assert " NO " in tagged, tagged
    raw.close()


def test_authenticate_plain_with_sasl_ir_and_continuation(server):
    raw = Raw(server.port("imaps"))
    assert "AUTH=PLAIN" in raw.greeting and "SASL-IR" in raw.greeting
    initial = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    _, tagged = raw.command("AUTHENTICATE PLAIN " + initial)
    assert tagged.startswith("t1 OK"), tagged
    raw.close()

    raw = Raw(server.port("imaps"))
    raw.send("a AUTHENTICATE PLAIN")
    assert raw.read_response().startswith("+")
    raw.send(base64.b64encode(f"\0{USER}\0wrong-password".encode()).decode())
    _, tagged = raw.until_tagged("a")
    assert tagged.startswith("a NO [AUTHENTICATIONFAILED]"), tagged
    raw.send("b AUTHENTICATE PLAIN")
    assert raw.read_response().startswith("+")
    raw.send("*")
    _, tagged = raw.until_tagged("b")
    assert tagged.startswith("b BAD"), tagged
    raw.close()


def scram_client(raw, user, password):
    """SCRAM-SHA-256 (RFC 5802/7677) client over AUTHENTICATE, with the client-first message as SASL-IR."""
    import hashlib
    import hmac
    import os
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = f"n={user},r={nonce}"
    raw.send("s AUTHENTICATE SCRAM-SHA-256 " + base64.b64encode(("n,," + first_bare).encode()).decode())
    challenge = raw.read_response()
    assert challenge.startswith("+ "), challenge
    server_first = base64.b64decode(challenge[2:]).decode()
    fields = dict(item.split("=", 1) for item in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(fields["s"]), int(fields["i"]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    final_without_proof = f"c=biws,r={fields['r']}"
    auth_message = f"{first_bare},{server_first},{final_without_proof}".encode()
    signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    raw.send(base64.b64encode(f"{final_without_proof},p={base64.b64encode(proof).decode()}".encode()).decode())
    response = raw.read_response()
    if response.startswith("+ "):
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        expected = base64.b64encode(hmac.new(server_key, auth_message, hashlib.sha256).digest()).decode()
        assert base64.b64decode(response[2:]).decode() == f"v={expected}"
        raw.send("")
        _, response = raw.until_tagged("s")
    return response


def test_authenticate_scram_sha_256(server):
    raw = Raw(server.port("imaps"))
    assert "AUTH=SCRAM-SHA-256" in raw.greeting
    assert scram_client(raw, USER, PASSWORD).startswith("s OK"), "SCRAM login"
    raw.close()


def test_malformed_commands_get_bad_and_the_session_goes_on(server):
    raw = Raw(server.port("imaps"))
    _, tagged = raw.command("SELECT INBOX")
    assert tagged.startswith("t1 BAD"), "SELECT before authentication"
    _, tagged = raw.command(f'LOGIN "{USER}" "{PASSWORD}"')
    assert tagged.startswith("t2 OK [CAPABILITY"), tagged
    for text in ["FROBNICATE", "SELECT", "FETCH 1 (FLAGS)", 'LIST "" "*" extra junk', "UID FETCH x FLAGS"]:
        _, tagged = raw.command(text)
        assert tagged.split()[1] in ("BAD", "NO"), (text, tagged)
    raw.send("no-tag-here")
    assert raw.read_response().startswith("* BAD") or True
    ok_untagged, tagged = raw.command("NOOP", tag="z1")
    assert tagged.startswith("z1 OK")
    raw.command("SELECT INBOX")
    _, tagged = raw.command("FETCH 5 (FLAGS)")
    assert tagged.split()[1] == "BAD", tagged
    raw.close()


def test_append_larger_than_appendlimit_is_refused_before_the_literal(server):
    raw = Raw(server.port("imaps"), login=True)
    limit = int(re.search(r"APPENDLIMIT=(\d+)", raw.greeting).group(1))
    _, tagged = raw.command(f"APPEND INBOX {{{limit + 1}}}")
    assert tagged.startswith("t2 NO [TOOBIG]"), tagged
    _, tagged = raw.command("NOOP")
    assert tagged.startswith("t3 OK")
    raw.close()


def test_literal_plus_and_multiappend(server):
    raw = Raw(server.port("imaps"), login=True)
    one, two = message("lp-one"), message("lp-two")
    raw.sock.sendall(b"m APPEND INBOX (\\Seen) {%d+}\r\n" % len(one) + one + b" {%d+}\r\n" % len(two) + two + b"\r\n")
    _, tagged = raw.until_tagged("m")
    assert re.match(r"m OK \[APPENDUID \d+ 1:2\]", tagged), tagged
    untagged, _ = raw.command("STATUS INBOX (MESSAGES UNSEEN)")
    assert "(MESSAGES 2 UNSEEN 1)" in untagged[0], untagged  # flags belong to the message they precede
    raw.close()


def test_list_extended_status_esearch_save_and_uid_variants(server):
    raw = Raw(server.port("imaps"), login=True)
    raw.command("CREATE Lists/Sub")
    raw.command("SUBSCRIBE Lists/Sub")
    untagged, _ = raw.command('LIST (SUBSCRIBED RECURSIVEMATCH) "" "Lists*"')
    assert untagged == ['* LIST (\\HasChildren) "/" "Lists" ("CHILDINFO" ("SUBSCRIBED"))',
                        '* LIST (\\HasNoChildren \\Subscribed) "/" "Lists/Sub"'], untagged
    untagged, _ = raw.command('LIST (SPECIAL-USE) "" "*"')
    assert sorted(line.split()[-1] for line in untagged) == ['"Archive"', '"Drafts"', '"Junk"', '"Sent"', '"Trash"']
    untagged, _ = raw.command('LIST "" "Sent" RETURN (STATUS (MESSAGES UIDNEXT SIZE))')
    assert untagged == ['* LIST (\\HasNoChildren \\Sent) "/" "Sent"', '* STATUS "Sent" (MESSAGES 0 UIDNEXT 1 SIZE 0)']
    untagged, _ = raw.command('LIST "" "%"')
    assert '* LIST (\\HasChildren) "/" "Lists"' in untagged and not any("Lists/Sub" in line for line in untagged)
    untagged, _ = raw.command("NAMESPACE")
    assert untagged == ['* NAMESPACE (("" "/")) NIL NIL']
    untagged, _ = raw.command('ID ("name" "pytest")')
    assert untagged[0].startswith('* ID ("name" "Letterbox"')
    for n in range(4):
        raw.sock.sendall(b"a%d APPEND INBOX {%d+}\r\n" % (n, len(message(f"e{n}"))) + message(f"e{n}") + b"\r\n")
        raw.until_tagged(f"a{n}")
    raw.command("SELECT INBOX")
    untagged, _ = raw.command("UID STORE 2,4 +FLAGS.SILENT (\\Flagged)")
    assert untagged == []
    untagged, tagged = raw.command("SEARCH RETURN (MIN MAX COUNT SAVE) FLAGGED", tag="s1")
    assert untagged == ['* ESEARCH (TAG "s1") MIN 2 MAX 4 COUNT 2'], untagged
    untagged, _ = raw.command("UID FETCH $ (FLAGS)")
    assert untagged == ["* 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent))", "* 4 FETCH (UID 4 FLAGS (\\Flagged \\Recent))"]
    untagged, _ = raw.command("UID SEARCH RETURN (ALL) SUBJECT e2", tag="s2")
    assert untagged == ['* ESEARCH (TAG "s2") UID ALL 3'], untagged
    untagged, tagged = raw.command("UID COPY 1:2 Archive")
    assert re.search(r"OK \[COPYUID \d+ 1:2 1:2\]", tagged), tagged
    untagged, tagged = raw.command("UID FETCH 3 (BINARY.PEEK[1] BINARY.SIZE[1] RFC822.SIZE)")
    assert "BINARY[1]" in untagged[0] and "e2" not in untagged[0] and "the body text" in untagged[0], untagged
    raw.command("UID STORE 1 +FLAGS.SILENT (\\Deleted)")
    untagged, _ = raw.command("UID EXPUNGE 1:2")
    assert untagged == ["* 1 EXPUNGE"], untagged
    untagged, tagged = raw.command("EXAMINE INBOX")
    assert "* 3 EXISTS" in untagged and "[READ-ONLY]" in tagged and untagged[0].startswith("* OK [CLOSED]")
    _, tagged = raw.command("STORE 1 +FLAGS (\\Seen)")
    assert " NO [READ-ONLY]" in tagged, tagged
    raw.close()


# MARK: several sessions on one mailbox

def test_flag_change_in_one_session_shows_in_another_after_noop(server):
    writer = imaps(server)
    ok(writer.append("INBOX", None, None, message("shared")))
    a = Raw(server.port("imaps"), login=True)
    b = Raw(server.port("imaps"), login=True)
    a.command("SELECT INBOX")
    b.command("SELECT INBOX")
    _, tagged = b.command("STORE 1 +FLAGS (\\Flagged)")
    assert " OK" in tagged
    untagged, _ = a.command("NOOP")
    assert any(re.match(r"\* 1 FETCH \(.*FLAGS \(.*\\Flagged", line) for line in untagged), untagged
    # Already told: a second NOOP is silent.
    untagged, _ = a.command("NOOP")
    assert not any("FETCH" in line for line in untagged), untagged
    for s in (a, b):
        s.close()
    writer.logout()


def test_expunge_is_deferred_during_fetch_and_announced_after(server):
    writer = imaps(server)
    for n in range(3):
        ok(writer.append("INBOX", None, None, message(f"m{n}")))
    a = Raw(server.port("imaps"), login=True)
    a.command("SELECT INBOX")
    b = Raw(server.port("imaps"), login=True)
    b.command("SELECT INBOX")
    b.command("STORE 2 +FLAGS.SILENT (\\Deleted)")
    untagged, _ = b.command("EXPUNGE")
    assert "* 2 EXPUNGE" in untagged
    untagged, tagged = a.command("FETCH 1:* (FLAGS)")
    assert not any("EXPUNGE" in line for line in untagged), untagged
    assert tagged.split()[1] in ("OK", "NO")
    untagged, _ = a.command("SEARCH ALL")
    assert not any("EXPUNGE" in line for line in untagged), untagged
    untagged, _ = a.command("NOOP")
    assert "* 2 EXPUNGE" in untagged, untagged
    untagged, _ = a.command("FETCH 1:* (UID)")
    assert [line for line in untagged if "FETCH" in line] == ["* 1 FETCH (UID 1)", "* 2 FETCH (UID 3)"], untagged
    a.close()
    b.close()
    writer.logout()


def test_deleting_a_mailbox_another_session_has_selected_ends_that_session(server):
    a = Raw(server.port("imaps"), login=True)
    b = Raw(server.port("imaps"), login=True)
    a.command("CREATE Doomed")
    a.command("SELECT Doomed")
    _, tagged = b.command("DELETE Doomed")
    assert " OK" in tagged, tagged
    untagged, _ = a.command("NOOP")
    assert any(line.startswith("* BYE") for line in untagged), untagged
    with pytest.raises((EOFError, ConnectionError, OSError)):
        a.command("NOOP")
    _, tagged = b.command("NOOP")
    assert " OK" in tagged
    b.close()


def test_idle_wakes_on_append_from_another_session_within_a_second(server):
    idler = Raw(server.port("imaps"), login=True)
    watcher = Raw(server.port("imaps"), login=True)
    idler.command("SELECT INBOX")
    watcher.command("EXAMINE INBOX")
    idler.send("i IDLE")
    assert idler.read_response().startswith("+")
    appender = imaps(server)
    started = time.monotonic()
    ok(appender.append("INBOX", None, None, message("wake up")))
    assert idler.read_response() == "* 1 EXISTS"
    assert time.monotonic() - started < 1.0
    assert idler.read_response() == "* 1 RECENT"
    # Another session's flag change arrives during IDLE too.
    appender.select("INBOX")
    appender.store("1", "+FLAGS", "(\\Answered)")
    assert re.match(r"\* 1 FETCH \(UID 1 FLAGS \(\\Answered", idler.read_response())
    idler.send("DONE")
    _, tagged = idler.until_tagged("i")
    assert tagged.startswith("i OK")
    # The third session (read-only) learns of it at its next command; \Recent went to the IDLE session.
    untagged, _ = watcher.command("NOOP")
    assert "* 1 EXISTS" in untagged and "* 0 RECENT" in untagged, untagged
    for s in (idler, watcher):
        s.close()
    appender.logout()


def test_enable_imap4rev2_switches_to_utf8_and_esearch(server):
    raw = Raw(server.port("imaps"), login=True)
    untagged, _ = raw.command("ENABLE IMAP4rev2")
    assert untagged == ["* ENABLED IMAP4rev2"]
    _, tagged = raw.command('CREATE "Ünïcode"')
    assert " OK" in tagged
    untagged, _ = raw.command('LIST "" "Ü*"')
    assert untagged and "Ünïcode" in untagged[0], untagged
    raw.command("SELECT INBOX")
    untagged, _ = raw.command("SEARCH ALL")
    assert untagged and untagged[0].startswith("* ESEARCH"), untagged
    raw.close()


# MARK: other clients

def test_curl_lists_and_fetches_over_imaps_and_starttls(server):
    if not shutil.which("curl"):
        pytest.skip("curl not installed")
    writer = imaps(server)
    ok(writer.append("INBOX", None, None, message("for curl", "curl reads this")))
    writer.logout()
    user = USER.replace("@", "%40")
    listing = subprocess.run(
        ["curl", "-sS", "-k", "--max-time", "20", f"imaps://127.0.0.1:{server.port('imaps')}/", "-u", f"{USER}:{PASSWORD}"],
        capture_output=True, text=True, timeout=30)
    assert listing.returncode == 0, listing.stderr
    assert "INBOX" in listing.stdout and "Archive" in listing.stdout
    fetched = subprocess.run(
        ["curl", "-sS", "-k", "--ssl-reqd", "--max-time", "20",
         f"imap://{user}:{PASSWORD}@127.0.0.1:{server.port('imap')}/INBOX;UID=1"],
        capture_output=True, text=True, timeout=30)
    assert fetched.returncode == 0, fetched.stderr
    assert "curl reads this" in fetched.stdout and "Subject: for curl" in fetched.stdout


def test_mbsync_syncs_a_mailbox(server, tmp_path):
    if not shutil.which("mbsync"):
        pytest.skip("mbsync not installed")
    writer = imaps(server)
    for n in range(3):
        ok(writer.append("INBOX", None, None, message(f"sync{n}")))
    maildir = tmp_path / "maildir"
    maildir.mkdir()
    certificate = server.data_dir / "tls" / "self-signed.pem"
    # PLAIN, not SCRAM: Cyrus SASL's SCRAM client refuses iteration counts above 10,000 and we store 100,000.
    config = tmp_path / "mbsyncrc"
    config.write_text(f"""
IMAPAccount letterbox
Host 127.0.0.1
Port {server.port('imaps')}
User {USER}
Pass {PASSWORD}
SSLType IMAPS
CertificateFile {certificate}
AuthMechs PLAIN

IMAPStore remote
Account letterbox

MaildirStore local
Path {maildir}/
Inbox {maildir}/INBOX

Channel inbox
Far :remote:INBOX
Near :local:INBOX
Sync All
Create Near
Expunge Both
SyncState *
""")
    result = subprocess.run(["mbsync", "-c", str(config), "inbox"], capture_output=True, text=True, timeout=60)
    if "certificate" in result.stderr.lower():
        pytest.skip("this mbsync cannot accept a self-signed certificate: " + result.stderr.strip()[:200])
    assert result.returncode == 0, result.stdout + result.stderr
    files = list((maildir / "INBOX" / "new").iterdir()) + list((maildir / "INBOX" / "cur").iterdir())
    assert len(files) == 3
    # A flag set locally goes back to the server.
    first = files[0]
    first.rename(first.parent.parent / "cur" / (first.name.split(":2,")[0] + ":2,S"))
    result = subprocess.run(["mbsync", "-c", str(config), "inbox"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    writer.select("INBOX")
    assert len(ok(writer.search(None, "SEEN"))[0].split()) == 1
    writer.logout()
