"""IMAP conformance corners found from outside (issue 20 §1), as transcripts against the real `letterbox serve`.

Each test is a C:/S: exchange over a raw connection (test_imap.Raw). Where another session's change has to arrive, the
receiving session IDLEs and the test reads until the response it waits for: events, never sleeps.
"""
import base64
import re

from test_imap import Raw, imaps, message, ok

SYSTEM_FLAGS = "\\Answered \\Flagged \\Deleted \\Seen \\Draft"


def idle_until(session, predicate, tag="idle"):
    """Starts IDLE, collects untagged responses until one satisfies `predicate`, ends IDLE; returns what arrived."""
    session.send(f"{tag} IDLE")
    assert session.read_response().startswith("+")
    seen = []
    while True:
        line = session.read_response()
        seen.append(line)
        if predicate(line):
            break
    session.send("DONE")
    rest, tagged = session.until_tagged(tag)
    assert tagged.startswith(f"{tag} OK"), tagged
    return seen + rest


def append(session, raw_message, mailbox="INBOX"):
    session.sock.sendall(b"ap APPEND %s {%d+}\r\n" % (mailbox.encode(), len(raw_message)) + raw_message + b"\r\n")
    _, tagged = session.until_tagged("ap")
    assert tagged.startswith("ap OK"), tagged


# MARK: keywords are announced before use (RFC 3501 §7.2.6, RFC 9051 §7.3.5)

def test_a_new_keyword_is_announced_with_flags_before_any_fetch_carries_it(server):
    writer = Raw(server.port("imaps"), login=True)
    append(writer, message("kw"))
    watcher = Raw(server.port("imaps"), login=True)
    examiner = Raw(server.port("imaps"), login=True)
    writer.command("SELECT INBOX")
    untagged, _ = watcher.command("SELECT INBOX")
    assert f"* FLAGS ({SYSTEM_FLAGS})" in untagged, untagged
    examiner.command("EXAMINE INBOX")

    # C: w STORE 1 +FLAGS ($Label1)  — the session that sets it is told first, too.
    untagged, tagged = writer.command("STORE 1 +FLAGS ($Label1)")
    assert tagged.split()[1] == "OK", tagged
    assert untagged == [
        f"* FLAGS ({SYSTEM_FLAGS} $Label1)",
        f"* OK [PERMANENTFLAGS ({SYSTEM_FLAGS} $Label1 \\*)] flags permitted",
        "* 1 FETCH (FLAGS (\\Recent $Label1))",
    ], untagged

    # Another SELECT session hears of it during IDLE: FLAGS and PERMANENTFLAGS come before the FETCH.
    arrived = idle_until(watcher, lambda line: "FETCH" in line)
    assert arrived == [
        f"* FLAGS ({SYSTEM_FLAGS} $Label1)",
        f"* OK [PERMANENTFLAGS ({SYSTEM_FLAGS} $Label1 \\*)] flags permitted",
        "* 1 FETCH (UID 1 FLAGS ($Label1))",
    ], arrived
    # A read-only session is told the keyword exists, but may not set flags.
    arrived = idle_until(examiner, lambda line: "FETCH" in line)
    assert arrived[:2] == [f"* FLAGS ({SYSTEM_FLAGS} $Label1)", "* OK [PERMANENTFLAGS ()] no permanent flags permitted"]

    # Known now: a second change with it needs no new announcement; .SILENT still announces a new one.
    untagged, _ = writer.command("STORE 1 -FLAGS ($label1)")
    assert not any(line.startswith("* FLAGS") for line in untagged), untagged
    untagged, _ = writer.command("STORE 1 +FLAGS.SILENT (Junk)")
    assert untagged == [f"* FLAGS ({SYSTEM_FLAGS} $Label1 Junk)",
                        f"* OK [PERMANENTFLAGS ({SYSTEM_FLAGS} $Label1 Junk \\*)] flags permitted"], untagged

    # A new message that arrives with a new keyword: FLAGS before EXISTS.
    adder = imaps(server)
    ok(adder.append("INBOX", "($Forwarded)", None, message("kw2")))
    arrived = idle_until(watcher, lambda line: line.endswith("RECENT"))
    assert arrived[0] == f"* FLAGS ({SYSTEM_FLAGS} $Forwarded $Label1 Junk)", arrived
    assert arrived.index("* 2 EXISTS") > 1, arrived
    adder.logout()
    for session in (writer, watcher, examiner):
        session.close()


# MARK: names that are not modified UTF-7

def test_select_of_a_name_that_is_not_modified_utf7_is_no_and_list_goes_on(server):
    raw = Raw(server.port("imaps"), login=True)
    _, tagged = raw.command("SELECT &Jjo")
    assert tagged.split(" ", 1)[1].startswith("NO [NONEXISTENT]"), tagged
    _, tagged = raw.command('EXAMINE "a&b"')
    assert tagged.split(" ", 1)[1].startswith("NO [NONEXISTENT]"), tagged
    _, tagged = raw.command("STATUS &Jjo (MESSAGES)")
    assert tagged.split(" ", 1)[1].startswith("BAD"), tagged
    for pattern in ["&Jjo%*", "a&b%*", "]%*", "&-%*", "!#$&'+,-.:;<=>?@[^_`|}~%*", "&%*"]:
        untagged, tagged = raw.command(f'LIST "" {pattern}')
        assert tagged.split()[1] in ("OK", "BAD"), (pattern, tagged)
    _, tagged = raw.command("NOOP")
    assert tagged.endswith("OK NOOP completed"), tagged
    raw.close()


# MARK: LIST-EXTENDED (RFC 5258) and LSUB (RFC 3501 §6.3.9)

def test_list_rejects_unknown_options_and_reports_childinfo(server):
    raw = Raw(server.port("imaps"), login=True)
    _, tagged = raw.command('LIST (UNKNOWN-OPTION) "" ""')
    assert tagged.split(" ", 1)[1].startswith("BAD"), tagged
    _, tagged = raw.command('LIST "" "" RETURN (UNKNOWN-OPTION)')
    assert tagged.split(" ", 1)[1].startswith("BAD"), tagged
    for name in ["Top", "Top/Mid", "Top/Mid/Leaf", "Solo"]:
        raw.command(f"CREATE {name}")
    raw.command("SUBSCRIBE Top/Mid/Leaf")
    raw.command("SUBSCRIBE Solo")
    raw.command("SUBSCRIBE Ghost/Child")  # a subscription whose mailbox (and parent) does not exist
    untagged, _ = raw.command('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
    assert '* LIST (\\HasChildren) "/" "Top" ("CHILDINFO" ("SUBSCRIBED"))' in untagged, untagged
    assert '* LIST (\\NonExistent \\HasNoChildren) "/" "Ghost" ("CHILDINFO" ("SUBSCRIBED"))' in untagged, untagged
    assert '* LIST (\\HasNoChildren \\Subscribed) "/" "Solo"' in untagged, untagged
    # A subscribed mailbox with a subscribed descendant carries CHILDINFO too (RFC 5258 §5 example 9, "eps2").
    raw.command("SUBSCRIBE Top")
    untagged, _ = raw.command('LIST (SUBSCRIBED RECURSIVEMATCH) "" "Top"')
    assert untagged == ['* LIST (\\HasChildren \\Subscribed) "/" "Top" ("CHILDINFO" ("SUBSCRIBED"))'], untagged
    raw.command("UNSUBSCRIBE Top")
    # Without RECURSIVEMATCH there is no CHILDINFO (RFC 5258 §3.5).
    untagged, _ = raw.command('LIST (SUBSCRIBED) "" "*"')
    assert not any("CHILDINFO" in line for line in untagged), untagged

    # LSUB: "%" stops at Top/Mid, which is not subscribed: it comes with \Noselect.
    untagged, _ = raw.command('LSUB "" Top/%')
    assert untagged == ['* LSUB (\\Noselect) "/" "Top/Mid"'], untagged
    untagged, _ = raw.command('LSUB "" Top/Mid/%')
    assert untagged == ['* LSUB () "/" "Top/Mid/Leaf"'], untagged
    ours = ("Top", "Solo", "Ghost")  # the account's default mailboxes are subscribed too
    untagged, _ = raw.command('LSUB "" *')
    assert sorted(line for line in untagged if line.split('"/" "')[1].startswith(ours)) == sorted([
        '* LSUB () "/" "Top/Mid/Leaf"', '* LSUB () "/" "Solo"', '* LSUB (\\Noselect) "/" "Ghost/Child"']), untagged
    untagged, _ = raw.command('LSUB "" %')
    assert sorted(line for line in untagged if line.split('"/" "')[1].startswith(ours)) == sorted([
        '* LSUB (\\Noselect) "/" "Top"', '* LSUB () "/" "Solo"', '* LSUB (\\Noselect) "/" "Ghost"']), untagged
    raw.close()


# MARK: \Recent and EXAMINE (RFC 3501 §6.3.2)

def test_examine_reports_recent_messages_without_claiming_them(server):
    raw = Raw(server.port("imaps"), login=True)
    append(raw, message("r1"))
    append(raw, message("r2"))
    untagged, _ = raw.command("EXAMINE INBOX")
    assert "* 2 RECENT" in untagged, untagged
    untagged, _ = raw.command("FETCH 1:* (FLAGS)")
    assert untagged == ["* 1 FETCH (FLAGS (\\Recent))", "* 2 FETCH (FLAGS (\\Recent))"], untagged
    # EXAMINE again: still recent (nothing claimed them); SELECT claims them, so a later EXAMINE sees none.
    untagged, _ = raw.command("EXAMINE INBOX")
    assert "* 2 RECENT" in untagged, untagged
    untagged, _ = raw.command("SELECT INBOX")
    assert "* 2 RECENT" in untagged, untagged
    other = Raw(server.port("imaps"), login=True)
    untagged, _ = other.command("EXAMINE INBOX")
    assert "* 0 RECENT" in untagged, untagged
    # New mail while EXAMINEd (and before any SELECT session claims it): announced with its RECENT count.
    raw.command("UNSELECT")
    append(raw, message("r3"))
    arrived = idle_until(other, lambda line: line.endswith("RECENT"))
    assert arrived == ["* 3 EXISTS", "* 1 RECENT"], arrived
    raw.close()
    other.close()


# MARK: SEARCH FROM by address (RFC 3501 §6.4.4)

FROM_FORMS = [
    b'"Carol Sender" <carol@example.org>',
    b"Carol Sender <carol@example.org>",
    b"=?utf-8?q?Car=C3=B6l_Sender?= <carol@example.org>",
    b"=?utf-8?B?Q2Fyw7ZsIFNlbmRlcg==?= <carol@example.org>",
    b"=?iso-8859-1?q?Car=F6l?=<carol@example.org>",
    b"carol@example.org",
    b"<carol@example.org>",
    b"carol@example.org (Carol Sender)",
    b"Carol Sender <Carol@Example.ORG>",
    b'"carol@example.org" <carol@example.org>',
    b"Carol\r\n Sender\r\n <carol@example.org>",
    b"undisclosed: carol@example.org;",
    b'"=?utf-8?q?Car=C3=B6l?=" <carol@example.org>',
    b'"carol"@example.org',
    b"carol @ example.org",
    b"Carol <carol(the sender)@example.org>",
    b"=?utf-8?q?Carol_<carol@example.org>?=",
    b"Carol Sender <carol@\r\n example.org>",
    b"=?x-unknown?q?Carol?= <carol@example.org>",
    b"=?utf-8?q?Carol=0A=0AX-Hidden:_yes?= <carol@example.org>",
]


def from_message(from_value, subject):
    return (b"From: " + from_value + b"\r\nTo: alice@example.test\r\nSubject: " + subject.encode()
            + b"\r\nDate: Mon, 4 Dec 2023 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhello\r\n")


def test_search_from_finds_the_address_whatever_the_display_name_form(server):
    raw = Raw(server.port("imaps"), login=True)
    raw.command("CREATE Forms")
    for n, form in enumerate(FROM_FORMS):
        # A Subject that decodes to an empty line must not hide the From field after it in the cached search text.
        subject = f"=?utf-8?q?form{n}=0D=0A=0D=0A?=" if n == 0 else f"form{n}"
        append(raw, from_message(form, subject), mailbox="Forms")
    append(raw, from_message(b"Dave <dave@example.org>", "other"), mailbox="Forms")
    raw.command("SELECT Forms")
    expected = " ".join(str(n + 1) for n in range(len(FROM_FORMS)))
    for needle in ["carol@example.org", "CAROL@EXAMPLE.ORG", "carol@", "carol"]:
        untagged, _ = raw.command(f"SEARCH FROM {needle}")
        assert untagged == [f"* SEARCH {expected}"], (needle, untagged)
    untagged, _ = raw.command("SEARCH FROM dave@example.org")
    assert untagged == [f"* SEARCH {len(FROM_FORMS) + 1}"], untagged
    raw.close()


# MARK: CAPABILITY lists what works

def test_capability_lists_multiappend_binary_searchres_create_special_use_and_each_works(server):
    raw = Raw(server.port("imaps"), login=True)
    untagged, _ = raw.command("CAPABILITY")
    capabilities = untagged[0].split()
    for name in ["MULTIAPPEND", "BINARY", "SEARCHRES", "CREATE-SPECIAL-USE"]:
        assert name in capabilities, (name, untagged)

    # CREATE-SPECIAL-USE (RFC 6154 §3): the attribute is set; an unknown one is NO [USEATTR].
    _, tagged = raw.command("CREATE Receipts (USE (\\Archive))")
    assert tagged.split()[1] == "OK", tagged
    untagged, _ = raw.command('LIST "" Receipts RETURN (SPECIAL-USE)')
    assert untagged == ['* LIST (\\HasNoChildren \\Archive) "/" "Receipts"'], untagged
    _, tagged = raw.command("CREATE Odd (USE (\\Bogus))")
    assert " NO [USEATTR]" in tagged, tagged

    # MULTIAPPEND (RFC 3502): two messages in one command, one APPENDUID range.
    one, two = message("multi-one"), message("multi-two")
    raw.send("m1 APPEND Receipts (\\Seen) {%d}" % len(one))
    assert raw.read_response().startswith("+")
    raw.sock.sendall(one + b" {%d}\r\n" % len(two))
    assert raw.read_response().startswith("+")
    raw.sock.sendall(two + b"\r\n")
    _, tagged = raw.until_tagged("m1")
    assert re.match(r"m1 OK \[APPENDUID \d+ 1:2\]", tagged), tagged

    # BINARY (RFC 3516): APPEND of a literal8 with NUL bytes, FETCH BINARY of a base64 part gives the decoded octets.
    payload = bytes([0, 1, 2, 0, 255, 10, 13]) * 3
    binary_message = (b"From: a@example.test\r\nSubject: bin\r\nMIME-Version: 1.0\r\n"
                      b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b\r\n"
                      b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n" + payload
                      + b"\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                      + base64.b64encode(payload) + b"\r\n--b--\r\n")
    raw.sock.sendall(b"b1 APPEND Receipts ~{%d+}\r\n" % len(binary_message) + binary_message + b"\r\n")
    _, tagged = raw.until_tagged("b1")
    assert tagged.startswith("b1 OK"), tagged
    raw.command("SELECT Receipts")
    raw.send("b2 FETCH 3 (BINARY.SIZE[3] BINARY.PEEK[3])")
    head = raw.file.readline()
    assert head.startswith(b"* 3 FETCH (BINARY.SIZE[3] %d BINARY[3] ~{%d}" % (len(payload), len(payload))), head
    assert raw.file.read(len(payload)) == payload
    _, tagged = raw.until_tagged("b2")
    assert tagged.startswith("b2 OK"), tagged

    # SEARCHRES (RFC 5182): SAVE, then $ in SEARCH and in FETCH; a failed SEARCH with SAVE empties $.
    untagged, _ = raw.command("SEARCH RETURN (SAVE) SUBJECT multi-two")
    assert untagged == [], untagged
    untagged, _ = raw.command("FETCH $ (UID)")
    assert untagged == ["* 2 FETCH (UID 2)"], untagged
    untagged, _ = raw.command("SEARCH $ UNSEEN")  # MULTIAPPEND's flags went to the first message only
    assert untagged == ["* SEARCH 2"], untagged
    untagged, _ = raw.command("SEARCH $ SEEN")
    assert untagged == ["* SEARCH"], untagged
    _, tagged = raw.command("SEARCH RETURN (SAVE) CHARSET X-UNKNOWN SUBJECT x")
    assert tagged.split()[1] == "NO", tagged
    untagged, _ = raw.command("SEARCH $")
    assert untagged == ["* SEARCH"], untagged
    raw.close()


# MARK: SEARCH BODY/TEXT sees every part

def nested_message(depth, word):
    """`depth` message/rfc822 parts inside each other, `word` in the innermost text."""
    inner = b"From: deep@example.test\r\nSubject: level %d\r\n\r\nthe innermost text holds " % depth + word.encode() + b"\r\n"
    for level in range(depth - 1, -1, -1):
        inner = (b"From: deep@example.test\r\nSubject: level %d\r\nMIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n" % level
                 + inner)
    return inner


def multipart_nested_message(depth, word):
    body = b"Content-Type: text/plain\r\n\r\nthe innermost part holds " + word.encode() + b"\r\n"
    for level in range(depth, 0, -1):
        boundary = b"b%d" % level
        body = (b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n--" + boundary + b"\r\n" + body
                + b"\r\n--" + boundary + b"--\r\n")
    return b"From: deep@example.test\r\nSubject: nested parts\r\nMIME-Version: 1.0\r\n" + body


def test_search_finds_text_in_deeply_nested_parts_and_after_nul(server):
    raw = Raw(server.port("imaps"), login=True)
    append(raw, nested_message(1000, "xyzzyrfc"))
    append(raw, multipart_nested_message(300, "plughmime"))
    nul = (b"From: nul@example.test\r\nSubject: nul\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
           b"before the byte \x00 after the byte frobozzword\r\n")
    raw.sock.sendall(b"n APPEND INBOX ~{%d}\r\n" % len(nul))
    assert raw.read_response().startswith("+")
    raw.sock.sendall(nul + b"\r\n")
    _, tagged = raw.until_tagged("n")
    assert tagged.startswith("n OK"), tagged
    raw.command("SELECT INBOX")
    for key, expected in [("BODY xyzzyrfc", "1"), ("TEXT xyzzyrfc", "1"), ("BODY plughmime", "2"), ("TEXT plughmime", "2"),
                          ("BODY frobozzword", "3"), ("TEXT frobozzword", "3"), ("BODY before", "3")]:
        untagged, _ = raw.command(f"SEARCH {key}")
        assert untagged == [f"* SEARCH {expected}"], (key, untagged)
    raw.close()
