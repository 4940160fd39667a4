"""IMAP autologout end to end: an unauthenticated connection that stays silent is closed with `* BYE` once the idle limit
for unauthenticated connections passes (IMAPServerConfiguration.unauthenticatedTimeout, 60 s; RFC 9051 §5.4).

There is no configuration key for this limit yet, so the test waits for the real 60 seconds."""
import socket
import time

from test_imap import Raw

UNAUTHENTICATED_LIMIT = 60


def test_silent_unauthenticated_connection_gets_bye_after_the_limit(server):
    plain = Raw(server.port("imap"), tls=False)
    tls = Raw(server.port("imaps"))
    # The authenticated limit is 30 minutes: a logged-in session equally silent stays.
    authenticated = Raw(server.port("imaps"), login=True)
    assert plain.greeting.startswith("* OK") and tls.greeting.startswith("* OK")
    started = time.monotonic()
    for session in (plain, tls):
        session.sock.settimeout(UNAUTHENTICATED_LIMIT + 30)
    # Silent from the greeting on.
    assert plain.read_response().startswith("* BYE"), "expected BYE on the cleartext port"
    waited = time.monotonic() - started
    assert UNAUTHENTICATED_LIMIT - 2 <= waited <= UNAUTHENTICATED_LIMIT + 15, waited
    assert tls.read_response().startswith("* BYE"), "expected BYE on the TLS port"
    # Then the server closes the connection.
    for session in (plain, tls):
        try:
            rest = session.file.readline()
        except (ConnectionError, socket.timeout, OSError):
            rest = b""
        assert rest == b"", rest
        session.close()
    untagged, tagged = authenticated.command("NOOP")
    assert tagged.split()[1] == "OK" and not any(line.startswith("* BYE") for line in untagged), (untagged, tagged)
    authenticated.close()

