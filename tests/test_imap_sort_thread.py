"""SORT, SORT=DISPLAY and THREAD (RFC 5256, RFC 5957) over real IMAP: orders by every sort key with REVERSE and mailbox
order for ties, base subjects without Re:/Fwd:/[list] markers, ORDEREDSUBJECT and REFERENCES threads."""
from test_imap import Raw


def append(raw, headers, body="text"):
    message = "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n" + body + "\r\n"
    raw.send(f"a APPEND INBOX {{{len(message.encode())}}}")
    assert raw.read_response().startswith("+")
    raw.sock.sendall(message.encode() + b"\r\n")
    _, tagged = raw.until_tagged("a")
    assert tagged.startswith("a OK"), tagged


def numbers(untagged, name):
    line = next(line for line in untagged if line.startswith(f"* {name}"))
    return line[len(f"* {name}"):].strip()


def test_sort_and_thread(server):
    raw = Raw(server.port("imaps"), login=True)
    try:
        messages = [
            {"From": "Zed <zed@example.test>", "To": "b@example.test", "Subject": "Meeting", "Date": "Mon, 7 Dec 2026 10:00:00 +0000", "Message-ID": "<m1@x>"},
            {"From": "alice@example.test", "To": "a@example.test", "Subject": "Re: meeting", "Date": "Mon, 7 Dec 2026 11:00:00 +0000", "Message-ID": "<m2@x>", "References": "<m1@x>"},
            {"From": "Bob <bob@example.test>", "To": "c@example.test", "Subject": "[team] Fwd: Budget", "Date": "Mon, 7 Dec 2026 09:00:00 +0100", "Message-ID": "<m3@x>"},
            {"From": "carol@example.test", "To": "d@example.test", "Subject": "RE:  Re: MEETING (fwd)", "Date": "Mon, 7 Dec 2026 12:00:00 +0000", "Message-ID": "<m4@x>", "In-Reply-To": "<m2@x>"},
            {"From": "dave@example.test", "To": "e@example.test", "Subject": "budget", "Date": "Sun, 6 Dec 2026 12:00:00 +0000", "Message-ID": "<m5@x>"},
        ]
        for headers in messages:
            append(raw, headers)
        untagged, tagged = raw.command("CAPABILITY")
        assert all(c in untagged[0] for c in ["SORT", "SORT=DISPLAY", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES"]), untagged
        raw.command("SELECT INBOX")
        def sort(criteria, keys="ALL", uid=False):
            untagged, tagged = raw.command(f"{'UID ' if uid else ''}SORT ({criteria}) UTF-8 {keys}")
            assert " OK " in tagged, tagged
            return numbers(untagged, "SORT")
        # DATE is the sent date in UTC (message 3's 09:00 +0100 is 08:00 UTC); ARRIVAL is the append order.
        assert sort("DATE") == "5 3 1 2 4"
        assert sort("REVERSE DATE") == "4 2 1 3 5"
        assert sort("ARRIVAL") == "1 2 3 4 5"
        # FROM compares the first From's mailbox (local part); DISPLAYFROM the display name, else the address.
        assert sort("FROM") == "2 3 4 5 1"
        assert sort("DISPLAYFROM") == "2 3 4 5 1"  # alice@…, Bob, carol@…, dave@…, Zed
        # SUBJECT: base subjects "budget" (3, 5) and "meeting" (1, 2, 4); ties keep mailbox order.
        assert sort("SUBJECT") == "3 5 1 2 4"
        assert sort("SUBJECT REVERSE DATE") == "3 5 4 2 1"
        assert sort("SUBJECT", keys="FROM alice") == "2"
        assert sorted(sort("SIZE", uid=True).split()) == ["1", "2", "3", "4", "5"]
        assert sort("TO") == "2 1 3 4 5"
        untagged, tagged = raw.command("THREAD ORDEREDSUBJECT UTF-8 ALL")
        assert " OK " in tagged, tagged
        # Threads by the date of their first message: budget (5 then 3) before meeting (1, 2, 4).
        assert numbers(untagged, "THREAD") == "(5 3)(1 (2)(4))"
        untagged, tagged = raw.command("THREAD REFERENCES UTF-8 ALL")
        assert " OK " in tagged, tagged
        # 1 → 2 → 4 by References/In-Reply-To; 3 and 5 have none.
        assert numbers(untagged, "THREAD") == "(5)(3)(1 2 4)"
        untagged, tagged = raw.command("UID THREAD REFERENCES UTF-8 FROM carol")
        assert numbers(untagged, "THREAD") == "(4)"
        _, tagged = raw.command("SORT (DATE) KOI8-R ALL")
        assert "NO [BADCHARSET" in tagged, tagged
        _, tagged = raw.command("SORT (NOSUCHKEY) UTF-8 ALL")
        assert " BAD " in tagged, tagged
    finally:
        raw.close()


def test_within_and_unauthenticate(server):
    """WITHIN (RFC 5032): OLDER/YOUNGER against INTERNALDATE; UNAUTHENTICATE (RFC 8437): log in again on one connection."""
    raw = Raw(server.port("imaps"), login=True)
    try:
        old = "Subject: old\r\n\r\nold\r\n"
        raw.send(f'a APPEND INBOX "01-Jan-2020 00:00:00 +0000" {{{len(old)}}}')
        assert raw.read_response().startswith("+")
        raw.sock.sendall(old.encode() + b"\r\n")
        assert raw.until_tagged("a")[1].startswith("a OK")
        append(raw, {"Subject": "new"})
        raw.command("SELECT INBOX")
        untagged, _ = raw.command("SEARCH YOUNGER 3600")
        assert untagged == ["* SEARCH 2"], untagged
        untagged, _ = raw.command("SEARCH OLDER 86400")
        assert untagged == ["* SEARCH 1"], untagged
        assert " BAD " in raw.command("SEARCH OLDER 0")[1]
        _, tagged = raw.command("UNAUTHENTICATE")
        assert " OK " in tagged, tagged
        # Not authenticated any more: mailbox commands are refused, a new login works on the same connection.
        assert " BAD " in raw.command("SELECT INBOX")[1]
        untagged, tagged = raw.command('LOGIN "alice@example.test" "wonderland-42"')
        assert " OK " in tagged, tagged
        assert " OK " in raw.command("SELECT INBOX")[1]
    finally:
        raw.close()


def test_preview(server):
    """PREVIEW (RFC 8970): the text of the message, whitespace collapsed, at most 256 characters; LAZY answered too."""
    raw = Raw(server.port("imaps"), login=True)
    try:
        append(raw, {"Subject": "p", "Content-Type": "text/plain; charset=utf-8"}, body="Hello   team,\r\n\r\nthe  report\tis ready." + " word" * 100)
        raw.command("SELECT INBOX")
        untagged, tagged = raw.command("FETCH 1 (PREVIEW)")
        assert " OK " in tagged, tagged
        preview = untagged[0].split("PREVIEW ", 1)[1].rstrip(")")
        text = preview.strip('"') if preview.startswith('"') else preview.split("\r\n", 1)[-1]
        assert text.startswith("Hello team, the report is ready. word word"), untagged
        assert len(text) <= 256, len(text)
        untagged, tagged = raw.command("UID FETCH 1 (UID PREVIEW (LAZY) FLAGS)")
        assert " OK " in tagged and "PREVIEW " in untagged[0] and "FLAGS (" in untagged[0], untagged
        assert " BAD " in raw.command("FETCH 1 (PREVIEW (EAGER))")[1]
    finally:
        raw.close()
