"""mbsync (Debian isync) against a 1,000-message mailbox: the first sync copies everything, a second carries one change
each way, a third finds nothing to do — no spurious changes on either side (issue 5's "twice with no spurious changes")."""
import os
import pty
import re
import shutil
import subprocess

import pytest

from test_imap import PASSWORD, USER, Raw, imaps, message, ok

COUNT = 1000
BATCH = 100


def append_many(server, count):
    """MULTIAPPEND with LITERAL+ (RFC 3502, RFC 7888): `count` messages in batches over one connection, no round trips
    inside a batch."""
    raw = Raw(server.port("imaps"), login=True)
    for start in range(0, count, BATCH):
        raw.counter += 1
        tag = f"m{raw.counter}"
        parts = [f"{tag} APPEND INBOX".encode()]
        for n in range(start, min(start + BATCH, count)):
            body = message(f"bulk{n:04d}", f"message number {n}")
            parts.append(b" {%d+}\r\n" % len(body) + body)
        raw.sock.sendall(b"".join(parts) + b"\r\n")
        _, tagged = raw.until_tagged(tag)
        assert tagged.startswith(f"{tag} OK"), tagged
    raw.close()


def mbsync_config(server, tmp_path, maildir):
    certificate = server.data_dir / "tls" / "self-signed.pem"
    config = tmp_path / "mbsyncrc"
    # mbsync's defaults (no AuthMechs): it picks SCRAM-SHA-256 through Cyrus SASL, which refuses more than 10,000
    # iterations — the server's default count, so real clients log in unmodified (issue 15).
    config.write_text(f"""
IMAPAccount letterbox
Host 127.0.0.1
Port {server.port('imaps')}
User {USER}
Pass {PASSWORD}
SSLType IMAPS
CertificateFile {certificate}

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
    return config


def mbsync(config):
    """Runs one sync with its output on a terminal (mbsync prints its progress counters only to a terminal) and returns
    the output (its end, for messages) and the final counters: {"F"/"N": (new, flag changes, deletions)} totals per
    side, from isync 1.4's `F: +done/total *done/total #done/total` progress line."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(["mbsync", "-V", "-c", str(config), "inbox"], stdout=terminal, stderr=terminal)
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the terminal's other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    returncode = process.wait(timeout=300)
    output = b"".join(chunks).decode("utf-8", "replace")
    if returncode != 0 and "certificate" in output.lower():
        pytest.skip("this mbsync cannot accept a self-signed certificate: " + output.strip()[:200])
    assert returncode == 0, output
    counters = {}
    for side, *numbers in re.findall(r"\b([FN]): \+(\d+)/(\d+) \*(\d+)/(\d+) #(\d+)/(\d+)", output):
        done, total = [int(n) for n in numbers[0::2]], [int(n) for n in numbers[1::2]]
        counters[side] = tuple(total)
    assert done == total, output[-2000:]  # the last progress line: everything planned was done
    return output[-2000:], counters


def maildir_state(maildir):
    """Every message file (subdirectory and name, which carries the flags)."""
    root = maildir / "INBOX"
    return sorted(f"{sub}/{path.name}" for sub in ("new", "cur") for path in (root / sub).iterdir())


def server_state(client):
    """UID, flags and modseq of every message, and the mailbox's HIGHESTMODSEQ."""
    typ, data = client.status("INBOX", "(MESSAGES HIGHESTMODSEQ UIDNEXT)")
    assert typ == "OK"
    client.select("INBOX", readonly=True)
    typ, data2 = client.uid("FETCH", "1:*", "(FLAGS)")
    assert typ == "OK"
    return data[0].decode(), sorted(item.decode() for item in data2 if item)


@pytest.mark.skipif(not shutil.which("mbsync"), reason="mbsync not installed")
def test_mbsync_1000_messages_twice_then_nothing_to_do(server, tmp_path):
    append_many(server, COUNT)
    maildir = tmp_path / "maildir"
    maildir.mkdir()
    config = mbsync_config(server, tmp_path, maildir)

    output, counters = mbsync(config)
    # mbsync's default choice is SCRAM-SHA-256 (the test's own imaplib session before it used LOGIN).
    assert "method=SCRAM-SHA-256" in server.output()[1], "mbsync did not log in with SCRAM-SHA-256"
    files = maildir_state(maildir)
    assert len(files) == COUNT
    assert counters.get("N", (0,))[0] == COUNT, output

    # One change each way: flag a message locally, delete another on the server.
    flagged = next(path for path in (maildir / "INBOX" / "new").iterdir())
    flagged.rename(flagged.parent.parent / "cur" / (flagged.name.split(":2,")[0] + ":2,F"))
    client = imaps(server)
    client.select("INBOX")
    ok(client.store("500", "+FLAGS", "(\\Deleted)"))
    ok(client.expunge())
    output, counters = mbsync(config)
    # One flag change up; the server-side deletion comes down as a flag change (T) that Expunge Both then removes.
    assert counters == {"F": (0, 1, 0), "N": (0, 1, 0)}, output
    files = maildir_state(maildir)
    assert len(files) == COUNT - 1
    assert sum(1 for name in files if re.search(r":2,[A-Z]*F", name)) == 1
    client.select("INBOX")
    assert len(ok(client.search(None, "FLAGGED"))[0].split()) == 1
    assert len(ok(client.search(None, "ALL"))[0].split()) == COUNT - 1

    # A third run has nothing to do: the Maildir and the server (messages, flags, modseq) stay exactly as they were.
    before_files, before_server = maildir_state(maildir), server_state(client)
    output, counters = mbsync(config)
    assert maildir_state(maildir) == before_files
    assert server_state(client) == before_server
    assert counters == {"F": (0, 0, 0), "N": (0, 0, 0)}, output
    client.logout()
