"""Reclaiming the space of deleted messages: `letterbox gc` (and `serve` every store.gc_interval) removes the bytes of
messages whose last copy went, never the bytes a message still refers to, and a message delivered again with the same
bytes afterwards reads back whole."""
import hashlib
import os
import sqlite3
import time

from conftest import run, wait_for
from test_imap import imaps, message


def blob_path(data_dir, body):
    digest = hashlib.sha256(body).hexdigest()
    return data_dir / "blobs" / digest[:2] / digest


def count(server, sql, *args):
    """One number from the server's SQLite file (read while it runs: WAL)."""
    db = sqlite3.connect(server.data_dir / "letterbox.sqlite")
    try:
        return db.execute(sql, args).fetchone()[0]
    finally:
        db.close()


def summaries(server, body):
    return count(server, "SELECT count(*) FROM summary WHERE blob = ?", hashlib.sha256(body).hexdigest())


def gc(server, *args):
    return run("gc", "--data-dir", str(server.data_dir), *args).stdout


def test_gc_removes_the_bytes_of_expunged_messages_only(server):
    doomed, kept, moved = message("doomed", "goes away"), message("kept", "stays"), message("moved", "moves")
    client = imaps(server)
    try:
        client.create("Archive")
        for body in (doomed, kept, moved):
            assert client.append("INBOX", None, None, body)[0] == "OK"
        client.select("INBOX")
        client.uid("MOVE", "3", "Archive")
        client.uid("STORE", "1", "+FLAGS", r"(\Deleted)")
        client.expunge()
        for body in (doomed, kept, moved):
            assert blob_path(server.data_dir, body).exists(), "nothing is removed within the grace period"
        assert count(server, "SELECT count(*) FROM blob_release") == 2, "the expunge and the move each released a blob"

        # With no grace, the expunged message's bytes go at once (as soon as the clock has passed its release second).
        wait_for(lambda: "1 removed" in gc(server, "--grace", "0") or not blob_path(server.data_dir, doomed).exists(),
                 timeout=10, what="the expunged message's blob to be collected")
        assert not blob_path(server.data_dir, doomed).exists()
        assert summaries(server, doomed) == 0, "its cached summary went with it"
        assert summaries(server, kept) == 1
        assert blob_path(server.data_dir, kept).exists() and blob_path(server.data_dir, moved).exists()
        typ, data = client.uid("FETCH", "2", "(BODY.PEEK[])")
        assert typ == "OK" and data[0][1] == kept
        client.select("Archive")
        typ, data = client.uid("FETCH", "1", "(BODY.PEEK[])")
        assert typ == "OK" and data[0][1] == moved, "a moved message keeps its bytes"

        # The same bytes again: stored afresh, read back whole.
        assert client.append("INBOX", None, None, doomed)[0] == "OK"
        client.select("INBOX")
        typ, data = client.uid("FETCH", "4", "(BODY.PEEK[])")
        assert typ == "OK" and data[0][1] == doomed
        assert summaries(server, doomed) == 1
    finally:
        client.logout()
    assert "0 removed" in gc(server, "--grace", "0"), "settled releases are not looked at again"


def test_gc_full_sweeps_what_no_message_refers_to(server):
    client = imaps(server)
    try:
        assert client.append("INBOX", None, None, message("live", "referenced"))[0] == "OK"
    finally:
        client.logout()
    # What a crash between storing a message's bytes and committing it leaves: an old file nothing refers to.
    stray = b"Subject: stray\r\n\r\nwritten, never committed\r\n"
    path = blob_path(server.data_dir, stray)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(stray)
    old = time.time() - 7200
    os.utime(path, (old, old))
    assert "full sweep" not in gc(server)
    assert path.exists(), "without --full only released blobs are looked at"
    assert "full sweep: 1 unreferenced blobs removed" in gc(server, "--full")
    assert not path.exists()
    assert blob_path(server.data_dir, message("live", "referenced")).exists()
