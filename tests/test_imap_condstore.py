"""CONDSTORE and QRESYNC (RFC 7162) end to end against the real server: raw commands over IMAPS (see test_imap.Raw), with
two sessions for the changes one session makes and the other learns of."""
import re

from test_imap import Raw, imaps, message, ok


def norecent(lines):
    """The lines without the RFC 3501 \\Recent flag (the first session to select a mailbox sees it)."""
    return [line.replace(" \\Recent", "").replace("(\\Recent)", "()") for line in lines]


def modseq_of(line):
    match = re.search(r"MODSEQ \((\d+)\)", line)
    assert match, line
    return int(match.group(1))


def code_value(untagged, code):
    for line in untagged:
        match = re.search(r"\[" + code + r" (\d+)\]", line)
        if match:
            return int(match.group(1))
    raise AssertionError(f"no {code} in {untagged}")


def fill(server, count):
    writer = imaps(server)
    for n in range(count):
        ok(writer.append("INBOX", None, None, message(f"cs{n}")))
    writer.logout()


def test_capabilities_and_select_condstore_reports_highestmodseq(server):
    fill(server, 2)
    raw = Raw(server.port("imaps"), login=True)
    untagged, _ = raw.command("CAPABILITY")
    assert " CONDSTORE" in untagged[0] and " QRESYNC" in untagged[0], untagged
    untagged, tagged = raw.command("SELECT INBOX (CONDSTORE)")
    assert tagged.split()[1] == "OK", tagged
    highest = code_value(untagged, "HIGHESTMODSEQ")
    # STATUS HIGHESTMODSEQ agrees; FETCH MODSEQ gives each message's modseq, none above the mailbox's.
    untagged, _ = raw.command("STATUS INBOX (HIGHESTMODSEQ MESSAGES)")
    assert untagged == [f'* STATUS "INBOX" (HIGHESTMODSEQ {highest} MESSAGES 2)'], untagged
    untagged, _ = raw.command("FETCH 1:* (UID MODSEQ)")
    modseqs = [modseq_of(line) for line in untagged if "FETCH" in line]
    assert len(modseqs) == 2 and max(modseqs) <= highest
    raw.close()


def test_first_condstore_enabling_command_while_selected_sends_highestmodseq(server):
    fill(server, 1)
    raw = Raw(server.port("imaps"), login=True)
    untagged, _ = raw.command("SELECT INBOX")
    assert not any("HIGHESTMODSEQ" in line for line in untagged), untagged
    untagged, _ = raw.command("FETCH 1 (MODSEQ)")
    assert any("[HIGHESTMODSEQ" in line for line in untagged), untagged
    # From now on FLAGS travel with MODSEQ.
    untagged = norecent(raw.command("STORE 1 +FLAGS (\\Flagged)")[0])
    assert re.match(r"\* 1 FETCH \(FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)", untagged[0]), untagged
    raw.close()


def test_fetch_changedsince_and_store_unchangedsince(server):
    fill(server, 3)
    a = Raw(server.port("imaps"), login=True)
    b = Raw(server.port("imaps"), login=True)
    untagged, _ = a.command("SELECT INBOX (CONDSTORE)")
    before = code_value(untagged, "HIGHESTMODSEQ")
    b.command("SELECT INBOX")
    b.command("STORE 2 +FLAGS (\\Answered)")
    # a learns of b's change, with MODSEQ, and CHANGEDSINCE names only message 2.
    untagged, _ = a.command("NOOP")
    fetches = [line for line in norecent(untagged) if "FETCH" in line]
    assert len(fetches) == 1 and fetches[0].startswith("* 2 FETCH (UID 2 FLAGS (\\Answered) MODSEQ ("), untagged
    changed = modseq_of(fetches[0])
    assert changed > before
    untagged, _ = a.command(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {before})")
    assert norecent(untagged) == [f"* 2 FETCH (FLAGS (\\Answered) MODSEQ ({changed}))"], untagged
    untagged, _ = a.command(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {changed})")
    assert untagged == [], untagged
    # UNCHANGEDSINCE: message 2 changed after `before`, so it is left alone and reported in MODIFIED; 1 and 3 are stored
    # and reported with their new modseq even though .SILENT was asked for.
    untagged, tagged = a.command(f"STORE 1:3 (UNCHANGEDSINCE {before}) +FLAGS.SILENT (\\Seen)")
    assert re.match(r"t\d+ OK \[MODIFIED 2\]", tagged), tagged
    stored = [line for line in untagged if "FETCH" in line]
    assert [line.split()[1] for line in stored] == ["1", "3"], untagged
    assert all("MODSEQ" in line for line in stored)
    untagged, _ = a.command("FETCH 2 (FLAGS)")
    assert "\\Seen" not in untagged[0] and "\\Answered" in untagged[0], untagged
    # UID STORE reports UIDs; UNCHANGEDSINCE 0 always fails.
    _, tagged = a.command("UID STORE 3 (UNCHANGEDSINCE 0) +FLAGS (\\Draft)")
    assert "[MODIFIED 3]" in tagged, tagged
    a.close()
    b.close()


def test_search_modseq(server):
    fill(server, 3)
    raw = Raw(server.port("imaps"), login=True)
    untagged, _ = raw.command("SELECT INBOX (CONDSTORE)")
    highest = code_value(untagged, "HIGHESTMODSEQ")
    untagged, _ = raw.command("STORE 3 +FLAGS (\\Flagged)")
    modseq = modseq_of(untagged[0])
    untagged, _ = raw.command(f"SEARCH MODSEQ {highest + 1}")
    assert untagged == [f"* SEARCH 3 (MODSEQ {modseq})"], untagged
    untagged, _ = raw.command(f'UID SEARCH RETURN (ALL) MODSEQ "/flags/\\\\flagged" all {highest + 1}')
    assert untagged == [f'* ESEARCH (TAG "t{raw.counter}") UID ALL 3 MODSEQ {modseq}'], untagged
    untagged, _ = raw.command(f"SEARCH MODSEQ {modseq + 1}")
    assert untagged == ["* SEARCH"], untagged
    raw.close()


def test_qresync_select_reports_vanished_earlier_and_changed_flags(server):
    fill(server, 5)
    a = Raw(server.port("imaps"), login=True)
    untagged, _ = a.command("ENABLE QRESYNC")
    assert untagged == ["* ENABLED QRESYNC"], untagged
    untagged, _ = a.command("SELECT INBOX")
    validity = code_value(untagged, "UIDVALIDITY")
    remembered = code_value(untagged, "HIGHESTMODSEQ")
    a.command("LOGOUT")
    # While the client is away: message 2 and 4 are expunged, message 5 is flagged.
    b = Raw(server.port("imaps"), login=True)
    b.command("SELECT INBOX")
    b.command("STORE 2,4 +FLAGS.SILENT (\\Deleted)")
    b.command("EXPUNGE")
    b.command("UID STORE 3 +FLAGS (\\Flagged)")

    c = Raw(server.port("imaps"), login=True)
    c.command("ENABLE QRESYNC")
    untagged, tagged = c.command(f"SELECT INBOX (QRESYNC ({validity} {remembered} 1:5))")
    assert tagged.split()[1] == "OK", tagged
    assert "* VANISHED (EARLIER) 2,4" in untagged, untagged
    assert "* 3 EXISTS" in untagged
    fetches = [line for line in untagged if "FETCH" in line]
    assert len(fetches) == 1 and fetches[0].startswith("* 2 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ ("), untagged
    # known-uids limits VANISHED (EARLIER).
    untagged, _ = c.command(f"EXAMINE INBOX (QRESYNC ({validity} {remembered} 4:5))")
    assert "* VANISHED (EARLIER) 4" in untagged, untagged
    # A wrong UIDVALIDITY: a plain select, nothing reported early.
    untagged, _ = c.command(f"EXAMINE INBOX (QRESYNC ({validity + 1} {remembered}))")
    assert not any("VANISHED" in line or "FETCH" in line for line in untagged), untagged
    # UID FETCH … (CHANGEDSINCE n VANISHED)
    untagged, _ = c.command(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {remembered} VANISHED)")
    assert untagged[0] == "* VANISHED (EARLIER) 2,4", untagged
    assert [line.split()[4] for line in untagged[1:]] == ["3"], untagged
    b.close()
    c.close()


def test_qresync_needs_enable_and_vanished_needs_uid_fetch(server):
    fill(server, 1)
    raw = Raw(server.port("imaps"), login=True)
    _, tagged = raw.command("SELECT INBOX (QRESYNC (1 1))")
    assert tagged.split()[1] == "BAD", tagged
    raw.command("SELECT INBOX")
    _, tagged = raw.command("UID FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)")
    assert tagged.split()[1] == "BAD", tagged
    raw.close()


def test_qresync_session_gets_vanished_instead_of_expunge(server):
    fill(server, 4)
    a = Raw(server.port("imaps"), login=True)
    a.command("ENABLE QRESYNC")
    a.command("SELECT INBOX")
    b = Raw(server.port("imaps"), login=True)
    b.command("SELECT INBOX")
    b.command("STORE 1,3 +FLAGS.SILENT (\\Deleted)")
    untagged, _ = b.command("EXPUNGE")
    assert untagged == ["* 1 EXPUNGE", "* 2 EXPUNGE"], untagged
    b.command("UID STORE 4 +FLAGS (\\Flagged)")  # a modseq above the expunges'
    # Held back during FETCH (same rule as EXPUNGE). Meanwhile the FETCH carries a MODSEQ above the held expunges', so
    # the client is also given a HIGHESTMODSEQ below them (RFC 7162 §3.2): reconnecting from it finds them.
    untagged, _ = a.command("FETCH 1:* (UID MODSEQ)")
    assert not any("VANISHED" in line for line in untagged), untagged
    floor = code_value(untagged, "HIGHESTMODSEQ")
    assert floor < max(modseq_of(line) for line in untagged if "FETCH" in line), untagged
    # UID FETCH allows them: one VANISHED without EARLIER (they are still numbered, so not reported as EARLIER).
    untagged, _ = a.command(f"UID FETCH 1:* (UID) (CHANGEDSINCE {floor} VANISHED)")
    assert "* VANISHED 1,3" in untagged and not any("EARLIER" in line for line in untagged), untagged
    untagged, _ = a.command("FETCH 1:* (UID)")
    assert untagged == ["* 1 FETCH (UID 2)", "* 2 FETCH (UID 4)"], untagged
    # The session's own EXPUNGE is reported with VANISHED too, and flag changes from b carry MODSEQ.
    b.command("UID STORE 4 +FLAGS (\\Seen)")
    untagged = norecent(a.command("STORE 1 +FLAGS.SILENT (\\Deleted)")[0])
    assert len(untagged) == 1 and re.match(r"\* 2 FETCH \(UID 4 FLAGS \(\\Flagged \\Seen\) MODSEQ \(\d+\)\)", untagged[0]), untagged
    untagged, tagged = a.command("EXPUNGE")
    assert untagged == ["* VANISHED 2"], untagged
    # RFC 7162 §3.2.7: the tagged OK carries the mailbox's new HIGHESTMODSEQ.
    assert re.match(r"t\d+ OK \[HIGHESTMODSEQ (\d+)\]", tagged), tagged
    untagged, _ = a.command("STATUS INBOX (HIGHESTMODSEQ)")
    assert untagged == [f'* STATUS "INBOX" (HIGHESTMODSEQ {code_value([tagged], "HIGHESTMODSEQ")})'], untagged
    a.close()
    b.close()


def test_imaplib_sees_highestmodseq_with_condstore(server):
    fill(server, 1)
    client = imaps(server)
    typ, _ = client._simple_command("SELECT", "INBOX", "(CONDSTORE)")
    assert typ == "OK"
    _, data = client._untagged_response(typ, [None], "HIGHESTMODSEQ")
    assert data and int(data[0]) > 0, data
    client.logout()

