"""The per-session message cache (Sources/IMAPServer/MessageCache.swift): a session answers FETCH, STORE and SEARCH from
the records it keeps, so every change another session (or delivery) makes must reach that cache — flags, expunges and new
messages — and the session's own changes must show at once. Two raw sessions over IMAPS (see test_imap.Raw)."""
import re

from test_imap import Raw, imaps, message, ok


def fill(server, count):
    writer = imaps(server)
    for n in range(count):
        ok(writer.append("INBOX", None, None, message(f"cache{n}")))
    writer.logout()


def flags_of(untagged, number):
    """The FLAGS of the last FETCH response for message `number` among `untagged` (None if there is none)."""
    found = None
    for line in untagged:
        match = re.match(rf"\* {number} FETCH \(.*FLAGS \(([^)]*)\)", line, re.S)
        if match:
            found = set(match.group(1).split())
    return found


def search_result(untagged):
    for line in untagged:
        if line.startswith("* SEARCH"):
            return [int(n) for n in line.split()[2:]]
    raise AssertionError(f"no SEARCH response in {untagged}")


def sessions(server):
    a = Raw(server.port("imaps"), login=True)
    b = Raw(server.port("imaps"), login=True)
    a.command("SELECT INBOX")
    b.command("SELECT INBOX")
    a.command("FETCH 1:* (UID FLAGS)")  # the cache is in use from here on
    return a, b


def test_another_sessions_store_reaches_fetch_and_search(server):
    fill(server, 3)
    a, b = sessions(server)
    _, tagged = b.command("STORE 2 +FLAGS (\\Flagged)")
    assert " OK" in tagged, tagged
    untagged, _ = a.command("FETCH 1:* (FLAGS)")
    assert "\\Flagged" in flags_of(untagged, 2), untagged
    assert "\\Flagged" not in flags_of(untagged, 1), untagged
    untagged, _ = a.command("SEARCH FLAGGED")
    assert search_result(untagged) == [2], untagged
    b.command("STORE 2 -FLAGS (\\Flagged)")
    untagged, _ = a.command("SEARCH FLAGGED")
    assert search_result(untagged) == [], untagged
    for s in (a, b):
        s.close()


def test_a_store_reports_flags_another_session_set(server):
    fill(server, 1)
    a, b = sessions(server)
    b.command("STORE 1 +FLAGS (\\Flagged)")
    untagged, _ = a.command("STORE 1 +FLAGS (\\Answered)")
    assert {"\\Answered", "\\Flagged"} <= flags_of(untagged, 1), untagged
    for s in (a, b):
        s.close()


def test_another_sessions_expunge_reaches_uid_fetch_and_search(server):
    fill(server, 3)
    a, b = sessions(server)
    b.command("STORE 2 +FLAGS.SILENT (\\Deleted)")
    b.command("EXPUNGE")
    untagged, _ = a.command("UID SEARCH ALL")
    assert search_result(untagged) == [1, 3], untagged
    untagged, _ = a.command("UID FETCH 1:* (FLAGS)")
    fetched = [int(m.group(1)) for line in untagged if (m := re.match(r"\* \d+ FETCH \(.*UID (\d+)", line))]
    assert fetched == [1, 3], untagged
    untagged, _ = a.command("FETCH 1:* (UID)")
    assert [line for line in untagged if "FETCH" in line] == ["* 1 FETCH (UID 1)", "* 2 FETCH (UID 3)"], untagged
    for s in (a, b):
        s.close()


def test_a_message_another_session_appends_is_fetched_and_searched_once_announced(server):
    fill(server, 1)
    a, b = sessions(server)
    writer = imaps(server)
    ok(writer.append("INBOX", "(\\Flagged)", None, message("late arrival")))
    writer.logout()
    untagged, _ = a.command("NOOP")
    assert "* 2 EXISTS" in untagged, untagged
    untagged, _ = a.command("UID SEARCH FLAGGED")
    assert search_result(untagged) == [2], untagged
    untagged, _ = a.command("FETCH 2 (UID FLAGS RFC822.SIZE)")
    assert re.search(r"\* 2 FETCH \(UID 2 FLAGS \(\\Flagged[^)]*\) RFC822\.SIZE \d+\)", "\n".join(untagged)), untagged
    untagged, _ = a.command('SEARCH SUBJECT "late arrival"')
    assert search_result(untagged) == [2], untagged
    for s in (a, b):
        s.close()


def test_own_changes_show_at_once(server):
    fill(server, 2)
    a, b = sessions(server)
    a.command("STORE 1 +FLAGS.SILENT ($Important)")
    untagged, _ = a.command("FETCH 1 (FLAGS)")
    assert "$Important" in flags_of(untagged, 1), untagged
    untagged, _ = a.command("FETCH 2 (BODY[TEXT])")  # not PEEK: sets \Seen
    assert "\\Seen" in flags_of(untagged, 2), untagged
    untagged, _ = a.command("SEARCH SEEN")
    assert search_result(untagged) == [2], untagged
    untagged, _ = a.command("SEARCH KEYWORD $Important")
    assert search_result(untagged) == [1], untagged
    # The other session learns both.
    untagged, _ = b.command("NOOP")
    assert "$Important" in flags_of(untagged, 1) and "\\Seen" in flags_of(untagged, 2), untagged
    for s in (a, b):
        s.close()


def test_envelope_from_the_cached_summary_and_body_from_the_blob(server):
    fill(server, 2)
    a, b = sessions(server)
    untagged, _ = a.command("FETCH 1:2 (ENVELOPE)")
    assert sum(1 for line in untagged if "ENVELOPE (" in line and '"cache' in line) == 2, untagged
    untagged, _ = a.command("FETCH 2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert any("Subject: cache1" in line for line in untagged), untagged
    for s in (a, b):
        s.close()


def test_changes_made_while_a_session_idles_reach_it_after_idle(server):
    fill(server, 3)
    a, b = sessions(server)
    a.send("i1 IDLE")
    assert a.read_response().startswith("+"), "IDLE continuation"
    b.command("STORE 1 +FLAGS (\\Flagged)")
    b.command("STORE 3 +FLAGS.SILENT (\\Deleted)")
    b.command("EXPUNGE")
    a.send("DONE")
    untagged, tagged = a.until_tagged("i1")
    assert " OK" in tagged, tagged
    untagged, _ = a.command("UID SEARCH FLAGGED")
    assert search_result(untagged) == [1], untagged
    untagged, _ = a.command("UID SEARCH ALL")
    assert search_result(untagged) == [1, 2], untagged
    untagged, _ = a.command("FETCH 1:* (UID FLAGS)")
    assert "\\Flagged" in flags_of(untagged, 1) and flags_of(untagged, 3) is None, untagged
    for s in (a, b):
        s.close()
