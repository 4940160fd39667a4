"""Hostile clients before they log in (issue 15, section 6).

IMAP: a client that has not authenticated may send literals of at most `imap.max_literal_before_auth` octets (8 KiB).
A larger synchronizing literal gets `tag BAD [TOOBIG]` instead of the `+` continuation; a larger non-synchronizing one
`* BYE [TOOBIG]` and the connection closes — before any literal byte is read, so fifty connections each trying to send
50 MB leave the server's memory where it was.

HTTP: a request's head must arrive within `http.request_head_timeout` and its body within `http.request_body_timeout`
(slowloris connections are closed), and at most `http.max_connections` connections are open (the next gets 503).
The tests set short limits in the configuration file, so they also prove the keys reach the server.
"""
import select
import socket
import ssl
import threading
import time

import pytest
from conftest import Server, run, wait_for
from test_imap import Raw

LITERAL = 50_000_000
HEAD_TIMEOUT, BODY_TIMEOUT = 2, 3
CHUNK = b"x" * 65536


def rss_kib(pid):
    """The process's resident set (VmRSS) in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def start_server(tmp_path, settings):
    data_dir = tmp_path / "data"
    config = tmp_path / "letterbox.toml"
    config.write_text(f'data_dir = "{data_dir}"\n{settings}')
    run("domain", "add", "example.test", "--data-dir", str(data_dir))
    run("user", "add", "alice@example.test", "--password", "wonderland-42", "--data-dir", str(data_dir))
    return Server(data_dir, extra_args=["--config", str(config)])


@pytest.fixture
def server(tmp_path):
    instance = start_server(tmp_path, f"[http]\nrequest_head_timeout = {HEAD_TIMEOUT}\nrequest_body_timeout = {BODY_TIMEOUT}\n")
    yield instance
    instance.stop()


def read_line(sock, deadline):
    """One line from `sock` (bytes, CRLF included), b"" once the server closed; fails at the deadline."""
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no complete line by the deadline (got {line!r})"
        sock.settimeout(remaining)
        try:
            byte = sock.recv(1)
        except (ConnectionResetError, BrokenPipeError):
            return line
        if not byte:
            return line
        line += byte
    return line


def closed_by_server(sock, deadline):
    """True once the server closed `sock` (EOF or reset), reading and discarding anything else it sends."""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not sock.recv(65536):
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except (socket.timeout, TimeoutError):
            return False
    return False


# MARK: IMAP


def flood_with_literal(port, results, index, synchronizing=False, tls=False):
    """Greeting, then `a1 LOGIN {50000000+}` and as much of the 50 MB as the server takes. Records what it answered."""
    started = time.monotonic()
    deadline = started + 30
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        sock = context.wrap_socket(sock)
    try:
        greeting = read_line(sock, deadline)
        marker = "" if synchronizing else "+"
        sock.sendall(f"a1 LOGIN {{{LITERAL}{marker}}}\r\n".encode())
        sent = 0
        # Sends the literal's bytes without waiting (the client need not), until the server answers or stops taking them.
        while not synchronizing and sent < LITERAL and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1)
            if readable:
                break
            if writable:
                try:
                    sent += sock.send(CHUNK[: min(len(CHUNK), LITERAL - sent)])
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    break
        answer = read_line(sock, deadline)
        after = b""
        if synchronizing:
            sock.sendall(b"a2 LOGOUT\r\n")
            after = read_line(sock, deadline) + read_line(sock, deadline)
        closed = closed_by_server(sock, deadline)
        results[index] = dict(greeting=greeting, answer=answer, after=after, sent=sent, closed=closed,
                              seconds=time.monotonic() - started)
    except Exception as error:  # recorded, then asserted in the test's thread
        results[index] = dict(error=repr(error))
    finally:
        sock.close()


def run_flood(server, count, **options):
    """`count` connections at once; returns (their results, baseline RSS, peak RSS seen meanwhile) in KiB."""
    baseline = rss_kib(server.pid)
    results = [None] * count
    port = server.port("imaps" if options.get("tls") else "imap")
    threads = [threading.Thread(target=flood_with_literal, args=(port, results, i), kwargs=options) for i in range(count)]
    for thread in threads:
        thread.start()
    peak = baseline
    while any(thread.is_alive() for thread in threads):
        peak = max(peak, rss_kib(server.pid))
        threads[0].join(0.02)
    for thread in threads:
        thread.join()
    peak = max(peak, rss_kib(server.pid))
    return results, baseline, peak


def test_huge_non_synchronizing_literals_before_login_get_bye_and_memory_stays_flat(server):
    results, baseline, peak = run_flood(server, 50)
    print(f"50 connections x {{50000000+}} before login: RSS {baseline / 1024:.0f} MB before, peak {peak / 1024:.0f} MB")
    for result in results:
        assert "error" not in result, result
        assert result["greeting"].startswith(b"* OK"), result
        assert result["answer"].startswith(b"* BYE [TOOBIG]"), result
        assert result["closed"], result
        assert result["seconds"] < 15, result
    assert peak - baseline < 48 * 1024, f"RSS grew from {baseline} KiB to {peak} KiB"
    # The server is fine afterwards: a normal login works.
    tls = Raw(server.port("imaps"))
    untagged, tagged = tls.command('LOGIN "alice@example.test" "wonderland-42"')
    assert tagged.split()[1] == "OK", tagged
    tls.close()


def test_huge_synchronizing_literal_before_login_gets_bad_without_continuation(server):
    results, baseline, peak = run_flood(server, 20, synchronizing=True)
    for result in results:
        assert "error" not in result, result
        assert result["answer"].startswith(b"a1 BAD [TOOBIG]"), result  # never "+ Ready"
        assert result["after"].startswith(b"* BYE") and b"a2 OK" in result["after"], result  # the session went on
    assert peak - baseline < 48 * 1024, f"RSS grew from {baseline} KiB to {peak} KiB"


def test_huge_literal_over_tls_gets_bye_too(server):
    results, _, _ = run_flood(server, 4, tls=True)
    for result in results:
        assert "error" not in result, result
        assert result["answer"].startswith(b"* BYE [TOOBIG]"), result


def test_small_literals_before_login_and_large_ones_after(server):
    client = Raw(server.port("imaps"))
    client.send("a1 LOGIN {18}")
    assert client.read_response().startswith("+")
    client.sock.sendall(b"alice@example.test {13}\r\n")
    assert client.read_response().startswith("+")
    client.sock.sendall(b"wonderland-42\r\n")
    assert client.read_response().startswith("a1 OK"), "LOGIN with literals under the limit"
    client.send("a2 APPEND INBOX {100000}")  # over the pre-login limit, well under APPENDLIMIT
    assert client.read_response().startswith("+")
    client.sock.sendall(b"Subject: big\r\n\r\n" + b"y" * (100000 - 16) + b"\r\n")
    assert client.read_response().startswith("a2 OK")
    client.close()


# MARK: HTTP


def http_connect(server):
    return socket.create_connection(("127.0.0.1", server.port("http")), timeout=10)


def test_slowloris_connections_are_closed_by_the_head_timeout(server):
    connections = []
    for _ in range(40):
        sock = http_connect(server)
        sock.sendall(b"GET /mail/config-v1.1.xml HTTP/1.1\r\nHost: example.test\r\n")
        connections.append(sock)
    started = time.monotonic()
    deadline = started + HEAD_TIMEOUT + 5
    open_ones = {sock.fileno(): sock for sock in connections}
    closed_after = []
    next_byte = started
    while open_ones and time.monotonic() < deadline:
        if time.monotonic() >= next_byte:  # one header byte per connection every 0.5 s: never a complete head
            for sock in list(open_ones.values()):
                try:
                    sock.send(b"X")
                except OSError:
                    pass
            next_byte += 0.5
        readable, _, _ = select.select(list(open_ones.values()), [], [], 0.1)
        for sock in readable:
            try:
                data = sock.recv(4096)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            assert not data, f"the server answered a request never completed: {data!r}"
            closed_after.append(time.monotonic() - started)
            del open_ones[sock.fileno()]
    for sock in connections:
        sock.close()
    assert not open_ones, f"{len(open_ones)} of 40 slowloris connections still open after {HEAD_TIMEOUT + 5} s"
    assert max(closed_after) <= HEAD_TIMEOUT + 5


def test_slow_body_is_closed_by_the_body_timeout_and_idle_keep_alive_by_the_head_timeout(server):
    slow = http_connect(server)
    slow.sendall(b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: example.test\r\nContent-Length: 1000\r\n\r\n")
    started = time.monotonic()
    deadline = started + BODY_TIMEOUT + 5
    closed = False
    while time.monotonic() < deadline and not closed:
        try:
            slow.send(b"<")
        except OSError:
            pass
        readable, _, _ = select.select([slow], [], [], 0.5)
        if readable:
            try:
                closed = slow.recv(4096) == b""
            except (ConnectionResetError, BrokenPipeError):
                closed = True
    slow.close()
    assert closed, "a request body trickling in was not cut off"
    assert time.monotonic() - started >= BODY_TIMEOUT - 0.5, "closed before the body timeout"

    kept = http_connect(server)
    kept.sendall(b"GET /nothing-here HTTP/1.1\r\nHost: example.test\r\n\r\n")
    status = read_line(kept, time.monotonic() + 10)
    assert status.startswith(b"HTTP/1.1 404"), status
    answered = time.monotonic()
    assert closed_by_server(kept, answered + HEAD_TIMEOUT + 5), "an idle kept-alive connection stayed open"
    assert time.monotonic() - answered >= HEAD_TIMEOUT - 0.5
    kept.close()


@pytest.fixture
def capped_server(tmp_path):
    instance = start_server(tmp_path, "[http]\nmax_connections = 20\nrequest_head_timeout = 60\n")
    yield instance
    instance.stop()


def get(sock, path="/nothing-here"):
    """Sends a GET on a kept-alive connection and reads the whole response; returns its status line."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: example.test\r\n\r\n".encode())
    deadline = time.monotonic() + 10
    status = read_line(sock, deadline)
    length = 0
    while (header := read_line(sock, deadline)) not in (b"\r\n", b""):
        name, _, value = header.decode().partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    body = b""
    while len(body) < length and (chunk := sock.recv(length - len(body))):
        body += chunk
    return status


def test_connections_over_the_cap_get_503_and_are_closed(capped_server):
    held = [http_connect(capped_server) for _ in range(20)]
    for sock in held:  # each one answered, so each one counts
        assert get(sock).startswith(b"HTTP/1.1 404")
    extra = http_connect(capped_server)
    assert read_line(extra, time.monotonic() + 10).startswith(b"HTTP/1.1 503")
    assert closed_by_server(extra, time.monotonic() + 10)
    extra.close()
    for sock in held:  # the held ones still work
        assert get(sock).startswith(b"HTTP/1.1 404")
    held.pop().close()

    def served():
        sock = http_connect(capped_server)
        try:
            return get(sock).startswith(b"HTTP/1.1 404")
        finally:
            sock.close()

    wait_for(served, timeout=10, what="a slot freed by a closed connection")
    for sock in held:
        sock.close()

