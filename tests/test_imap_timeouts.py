"""IMAP autologout end to end: an unauthenticated connection that stays silent is closed with `* BYE` once the idle limit
for unauthenticated connections passes (`imap.login_timeout`, 60 s by default; RFC 9051 §5.4). The test sets the limit
to a few seconds in the configuration file, so it also proves the key reaches the server."""
import socket
import time

import pytest
from conftest import Server, run
from test_imap import Raw

UNAUTHENTICATED_LIMIT = 4


@pytest.fixture
def server(data_dir, tmp_path):
    config = tmp_path / "letterbox.toml"
    config.write_text(f'data_dir = "{data_dir}"\n[imap]\nlogin_timeout = {UNAUTHENTICATED_LIMIT}\n')
    run("domain", "add", "example.test", "--data-dir", str(data_dir))
    run("user", "add", "alice@example.test", "--password", "wonderland-42", "--data-dir", str(data_dir))
    instance = Server(data_dir, extra_args=["--config", str(config)])
    yield instance
    instance.stop()


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
    assert UNAUTHENTICATED_LIMIT - 1 <= waited <= UNAUTHENTICATED_LIMIT + 10, waited
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

