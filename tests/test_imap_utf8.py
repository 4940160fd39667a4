"""UTF8=ACCEPT (RFC 6855) end to end: advertised, ENABLE switches mailbox names to UTF-8, the UTF8 APPEND data item, and
SEARCH without a charset label."""
from test_imap import Raw


def test_enable_utf8_accept_switches_mailbox_names_to_utf8(server):
    raw = Raw(server.port("imaps"), login=True)
    untagged, _ = raw.command("CAPABILITY")
    assert " UTF8=ACCEPT" in untagged[0], untagged
    # Before ENABLE: modified UTF-7 both ways.
    _, tagged = raw.command('CREATE "Entw&APw-rfe"')
    assert " OK" in tagged, tagged
    untagged, _ = raw.command('LIST "" "Entw*"')
    assert untagged == ['* LIST (\\HasNoChildren) "/" "Entw&APw-rfe"'], untagged
    untagged, _ = raw.command("ENABLE UTF8=ACCEPT")
    assert untagged == ["* ENABLED UTF8=ACCEPT"], untagged
    untagged, _ = raw.command('LIST "" "Entw*"')
    assert untagged == ['* LIST (\\HasNoChildren) "/" "Entwürfe"'], untagged
    untagged, _ = raw.command('STATUS "Entwürfe" (MESSAGES)')
    assert untagged == ['* STATUS "Entwürfe" (MESSAGES 0)'], untagged
    # The UTF8 APPEND data item carries a message with a UTF-8 header.
    body = "Subject: Grüße aus Köln\r\n\r\nHallo\r\n".encode()
    raw.counter += 1
    raw.sock.sendall(b'u1 APPEND "Entw\xc3\xbcrfe" UTF8 (~{%d+}\r\n' % len(body) + body + b")\r\n")
    _, tagged = raw.until_tagged("u1")
    assert tagged.startswith("u1 OK [APPENDUID"), tagged
    raw.command('SELECT "Entwürfe"')
    untagged, _ = raw.command('SEARCH SUBJECT "köln"')
    assert untagged == ["* SEARCH 1"], untagged
    # RFC 6855 §3: no charset label once UTF-8 is on.
    _, tagged = raw.command('SEARCH CHARSET UTF-8 SUBJECT "köln"')
    assert tagged.split()[1] == "BAD", tagged
    raw.close()
