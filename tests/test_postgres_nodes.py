"""Several Letterbox nodes on one PostgreSQL (issue 10): two `letterbox serve` processes share a real PostgreSQL server
(the one scripts/test starts, or one started here), reached over TLS with the certificate and host name verified.

1. A message delivered over SMTP on node 1 wakes an IDLE client on node 2 within a second.
2. Four IMAP clients, two per node, flag and expunge at once and end in the state a single node would give.
3. 1,000 messages queued through both nodes are each delivered exactly once, by both nodes.
4. Node 1 killed mid-queue: node 2 takes over its claims and delivers its share.
"""
import email
import imaplib
import os
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import threading
import time
import uuid

import pytest
from conftest import Server, run, wait_for

PASSWORD = "wonderland-42"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def postgres():
    """(URL with sslmode=require, CA file) of a running test PostgreSQL server."""
    if os.environ.get("LETTERBOX_TEST_POSTGRES_URL"):
        yield os.environ["LETTERBOX_TEST_POSTGRES_URL"], os.environ["LETTERBOX_TEST_POSTGRES_CA"]
        return
    started = subprocess.run([os.path.join(ROOT, "scripts/test-postgres"), "start"], capture_output=True, text=True, check=True)
    env = dict(re.findall(r"export (\w+)='([^']*)'", started.stdout))
    try:
        yield env["LETTERBOX_TEST_POSTGRES_URL"], env["LETTERBOX_TEST_POSTGRES_CA"]
    finally:
        subprocess.run([os.path.join(ROOT, "scripts/test-postgres"), "stop", env["LETTERBOX_TEST_POSTGRES_DIR"]], check=False)


@pytest.fixture
def database(postgres):
    """A fresh database: the store URL for Letterbox (verify-full against the test CA, host name localhost)."""
    url, ca = postgres
    name = "lbnodes_" + uuid.uuid4().hex[:12]
    subprocess.run(["psql", url, "-q", "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    match = re.match(r"postgres://([^:]+):([^@]+)@[^:]+:(\d+)/", url)
    user, password, port = match.groups()
    yield {"url": f"postgres://{user}@localhost:{port}/{name}?sslmode=verify-full&sslrootcert={ca}", "password": password,
           "admin": url.replace("/letterbox?", f"/{name}?")}
    subprocess.run(["psql", url, "-q", "-c", f"DROP DATABASE {name} WITH (FORCE)"], check=False, capture_output=True)


def password_file(tmp_path, database):
    """The database password in a file (mode 0600), as `store.password_file` and `--password-file` read it."""
    secret = tmp_path / "db-password"
    secret.write_text(database["password"] + "\n")
    secret.chmod(0o600)
    return secret


def node_config(tmp_path, name, database, extra=""):
    secret = password_file(tmp_path, database)
    config = tmp_path / f"{name}.toml"
    config.write_text(
        f'data_dir = "{tmp_path / name}"\nhostname = "{name}.example.test"\n'
        f'[store]\nbackend = "postgres"\nurl = "{database["url"]}"\npassword_file = "{secret}"\nclaim_timeout = 5\n' + extra)
    return config


def start_nodes(tmp_path, database, extra=""):
    configs = [node_config(tmp_path, name, database, extra) for name in ("node1", "node2")]
    run("domain", "add", "example.test", "--config", str(configs[0]))
    run("user", "add", "alice@example.test", "--password", PASSWORD, "--config", str(configs[0]))
    # Each node has its own data_dir; the second one reads the domain and the account from the shared database.
    assert "alice@example.test" in run("user", "list", "--config", str(configs[1])).stdout
    return [Server(tmp_path / name, extra_args=["--config", str(config)]) for name, config in zip(("node1", "node2"), configs)]


def tls_context():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class IMAP:
    """A line-level IMAPS client, logged in as alice."""

    def __init__(self, server):
        self.sock = tls_context().wrap_socket(socket.create_connection(("127.0.0.1", server.port("imaps")), timeout=20))
        self.file = self.sock.makefile("rb")
        self.counter = 0
        self.read()
        _, tagged = self.command(f'LOGIN "alice@example.test" "{PASSWORD}"')
        assert " OK" in tagged, tagged

    def send(self, text):
        self.sock.sendall(text.encode() + b"\r\n")

    def read(self):
        line = self.file.readline()
        if not line:
            raise EOFError("connection closed")
        return line.decode().rstrip("\r\n")

    def command(self, text):
        self.counter += 1
        tag = f"c{self.counter}"
        self.send(f"{tag} {text}")
        untagged = []
        while True:
            line = self.read()
            if line.startswith(tag + " "):
                return untagged, line
            untagged.append(line)

    def flags(self):
        """{uid: set(flags)} of the selected mailbox."""
        untagged, tagged = self.command("UID FETCH 1:* (UID FLAGS)")
        assert " OK" in tagged, tagged
        state = {}
        for line in untagged:
            match = re.match(r"\* \d+ FETCH \((?=.*UID (\d+))(?=.*FLAGS \(([^)]*)\)).*\)$", line)
            if match:
                state[int(match.group(1))] = set(match.group(2).split()) - {"\\Recent"}
        return state

    def close(self):
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass


def message(subject, message_id=None):
    message_id = message_id or f"<{uuid.uuid4().hex}@example.test>"
    return (f"From: alice@example.test\r\nTo: someone\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
            f"Date: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\n{subject}\r\n").encode()


def dkim_keys(data_dir, domain="example.test"):
    """{selector file: PEM} and the active selectors of a node's mirrored DKIM keys."""
    folder = data_dir / "dkim" / domain
    active = set((folder / "active").read_text().split()) if (folder / "active").exists() else set()
    return {path.name: path.read_text() for path in folder.glob("*.pem")}, active


def test_nodes_sign_with_the_same_dkim_keys(tmp_path, database):
    node1, node2 = start_nodes(tmp_path, database)
    try:
        keys, active = dkim_keys(tmp_path / "node1")
        assert len(keys) == 2 and len(active) == 2
        assert dkim_keys(tmp_path / "node2") == (keys, active), "node 2's serve mirrored node 1's keys when it started"
        config1, config2 = tmp_path / "node1.toml", tmp_path / "node2.toml"
        # A rotation on node 1: node 2 (the CLI here; its serve within 30 s) publishes and signs with the new keys.
        rotated = run("dkim", "rotate", "example.test", "--config", str(config1)).stdout
        def dkim_records(config):
            zone = run("dns", "example.test", "--format", "zone", "--config", str(config)).stdout
            return [line for line in zone.splitlines() if "_domainkey" in line]
        records = dkim_records(config1)
        assert len(records) == 4 and dkim_records(config2) == records, records
        keys, active = dkim_keys(tmp_path / "node1")
        assert all(selector in rotated for selector in active)
        assert dkim_keys(tmp_path / "node2") == (keys, active)
    finally:
        node1.stop()
        node2.stop()


def test_smtp_on_node1_wakes_idle_on_node2_within_a_second(tmp_path, database):
    node1, node2 = start_nodes(tmp_path, database)
    try:
        idler = IMAP(node2)
        idler.command("SELECT INBOX")
        idler.send("i IDLE")
        assert idler.read().startswith("+")
        with smtplib.SMTP("127.0.0.1", node1.port("smtp"), timeout=20) as smtp:
            smtp.ehlo("sender.test")
            started = time.monotonic()
            smtp.sendmail("bob@sender.test", ["alice@example.test"], message("across nodes"))
        assert idler.read() == "* 1 EXISTS"
        elapsed = time.monotonic() - started
        assert elapsed < 1.0, f"node 2 learnt of the message after {elapsed:.2f}s"
        idler.send("DONE")
        # The message itself is readable on node 2 (blob in PostgreSQL), with node 1's Received header.
        while not idler.read().startswith("i OK"):
            pass
        untagged, tagged = idler.command("FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
        assert " OK" in tagged and any("across nodes" in line for line in untagged), untagged
        idler.close()
    finally:
        node1.stop()
        node2.stop()


def flag_and_expunge_concurrently(servers):
    """40 messages; four clients (over `servers` in turn) flag and expunge at once; returns each client's final view
    and a fresh client's view per server."""
    loader = imaplib.IMAP4_SSL("127.0.0.1", servers[0].port("imaps"), ssl_context=tls_context(), timeout=20)
    loader.login("alice@example.test", PASSWORD)
    for index in range(1, 41):
        assert loader.append("INBOX", None, None, message(f"message {index}"))[0] == "OK"
    loader.logout()

    clients = [IMAP(servers[k % len(servers)]) for k in range(4)]
    for client in clients:
        client.command("SELECT INBOX")
    # Client k: \Seen on uid % 2 == k % 2, \Flagged on uid % 4 == k, $Label{k} on everything, \Deleted on
    # uid % 10 == k, then EXPUNGE.
    errors = []

    def work(k, client):
        try:
            for uid in range(1, 41):
                operations = ["+FLAGS (\\Seen)" if uid % 2 == k % 2 else None, "+FLAGS (\\Flagged)" if uid % 4 == k else None,
                              f"+FLAGS ($Label{k})", "+FLAGS (\\Deleted)" if uid % 10 == k else None]
                for operation in filter(None, operations):
                    _, tagged = client.command(f"UID STORE {uid} {operation}")
                    assert " OK" in tagged, tagged
            _, tagged = client.command("EXPUNGE")
            assert " OK" in tagged, tagged
        except Exception as error:  # reported in the main thread
            errors.append((k, error))

    threads = [threading.Thread(target=work, args=(k, client)) for k, client in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    views = []
    for client in clients:
        client.command("NOOP")
        views.append(client.flags())
        client.close()
    for server in servers:
        fresh = IMAP(server)
        fresh.command("SELECT INBOX")
        views.append(fresh.flags())
        fresh.close()
    return views


def test_four_clients_on_two_nodes_flag_and_expunge_concurrently(tmp_path, database):
    # The same workload on one embedded (SQLite) node first: the state the two nodes must reach.
    single_dir = tmp_path / "single"
    run("domain", "add", "example.test", "--data-dir", str(single_dir))
    run("user", "add", "alice@example.test", "--password", PASSWORD, "--data-dir", str(single_dir))
    single = Server(single_dir)
    try:
        single_views = flag_and_expunge_concurrently([single])
    finally:
        single.stop()
    # Set operations commute, so every interleaving ends here: uids ending in 0-3 expunged, the others with every label,
    # \Seen (clients 0 and 2 cover even uids, 1 and 3 odd) and \Flagged (uid % 4 is always one client's k).
    expected = {uid: {f"$Label{k}" for k in range(4)} | {"\\Seen", "\\Flagged"} for uid in range(1, 41) if uid % 10 >= 4}
    assert all(view == expected for view in single_views)

    node1, node2 = start_nodes(tmp_path, database)
    try:
        views = flag_and_expunge_concurrently([node1, node2])
        assert all(view == expected for view in views), "every client on both nodes ends where the single node did"
    finally:
        node1.stop()
        node2.stop()


class Sink(threading.Thread):
    """An SMTP server standing in for the remote MX: records (EHLO name, Message-ID) of every message it accepts.
    While `gate` is cleared, connections wait before the greeting (the MX is slow to answer)."""

    def __init__(self, delay=0.0, gate=None):
        super().__init__(daemon=True)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.delay = delay
        self.gate = gate
        self.received = []
        self.lock = threading.Lock()
        self.start()

    def run(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.session, args=(sock,), daemon=True).start()

    def session(self, sock):
        file = sock.makefile("rb")
        helo = "?"
        try:
            if self.gate is not None:
                self.gate.wait()
            sock.sendall(b"220 sink.test ESMTP\r\n")
            while True:
                line = file.readline()
                if not line:
                    return
                verb = line[:4].upper()
                if verb == b"EHLO":
                    helo = line[5:].strip().decode()
                    sock.sendall(b"250-sink.test\r\n250 8BITMIME\r\n")
                elif verb == b"DATA":
                    sock.sendall(b"354 go on\r\n")
                    data = b""
                    while True:
                        chunk = file.readline()
                        if chunk in (b".\r\n", b""):
                            break
                        data += chunk
                    if self.delay:
                        time.sleep(self.delay)
                    match = re.search(rb"(?im)^Message-ID: (<[^>]+>)", data)
                    with self.lock:
                        self.received.append((helo, match.group(1).decode() if match else None))
                    sock.sendall(b"250 2.0.0 queued\r\n")
                elif verb == b"QUIT":
                    sock.sendall(b"221 bye\r\n")
                    return
                else:
                    sock.sendall(b"250 ok\r\n")
        except OSError:
            pass
        finally:
            file.close()
            sock.close()

    def count(self, helo=None):
        with self.lock:
            return sum(1 for name, _ in self.received if helo is None or name == helo)

    def close(self):
        self.listener.close()


def submit(server, ids, subject):
    with smtplib.SMTP("127.0.0.1", server.port("submission"), timeout=60) as smtp:
        smtp.starttls(context=tls_context())
        smtp.login("alice@example.test", PASSWORD)
        for message_id in ids:
            smtp.sendmail("alice@example.test", ["carol@remote.test"], message(subject, message_id))


def submit_in_parallel(nodes, count):
    """`count` messages to carol@remote.test, submitted over four connections spread over the nodes."""
    ids = [f"<{index}.{uuid.uuid4().hex[:8]}@example.test>" for index in range(count)]
    errors = []

    def worker(k):
        try:
            submit(nodes[k % len(nodes)], ids[k::4], f"queued {k}")
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not errors, errors
    return ids


def queue_listing(tmp_path, node):
    return run("queue", "list", "--config", str(tmp_path / f"{node}.toml")).stdout.strip()


def routes(sink, extra=""):
    return f'[delivery]\ntls = "none"\n{extra}[delivery.routes]\n"remote.test" = "127.0.0.1:{sink.port}"\n'


def test_a_thousand_queued_messages_are_each_delivered_once_by_two_nodes(tmp_path, database):
    sink = Sink()
    node1, node2 = start_nodes(tmp_path, database, routes(sink))
    try:
        ids = submit_in_parallel([node1, node2], 1000)
        wait_for(lambda: sink.count() >= 1000, timeout=300, what="1,000 messages at the sink")
        wait_for(lambda: queue_listing(tmp_path, "node1") == "the queue is empty", timeout=30, what="an empty queue")
        # Two more poll intervals of both runners: nothing may go out twice.
        wait_for(lambda: "remote.test" not in queue_listing(tmp_path, "node2"), timeout=10, what="node 2 sees the empty queue")
        time.sleep(4.5)  # not a wait for an event: the window in which a duplicate would show up
        received = [message_id for _, message_id in sink.received]
        assert len(received) == 1000 and sorted(received) == sorted(ids), "every message exactly once"
        shares = {name: sink.count(name) for name in ("node1.example.test", "node2.example.test")}
        assert all(shares.values()), f"both nodes delivered: {shares}"
    finally:
        node1.stop()
        node2.stop()
        sink.close()


def test_node_killed_mid_queue_leaves_its_share_to_the_other(tmp_path, database):
    gate = threading.Event()
    sink = Sink(delay=0.05, gate=gate)
    node1, node2 = start_nodes(tmp_path, database, routes(sink, "max_per_domain = 2\n"))
    try:
        ids = submit_in_parallel([node1, node2], 200)
        gate.set()
        wait_for(lambda: sink.count("node1.example.test") >= 10, timeout=60, what="node 1 delivering")
        node1.stop(signal.SIGKILL)
        killed_at = sink.count()
        assert killed_at < 190, f"node 1 was killed too late to prove anything ({killed_at} delivered)"
        wait_for(lambda: set(ids) <= {message_id for _, message_id in sink.received}, timeout=120,
                 what="node 2 delivering every message, node 1's claimed ones included")
        wait_for(lambda: queue_listing(tmp_path, "node2") == "the queue is empty", timeout=30, what="an empty queue")
        received = [message_id for _, message_id in sink.received]
        duplicates = len(received) - len(set(received))
        # At most the messages node 1 was sending when it died (one per connection) can arrive twice.
        assert duplicates <= 2, f"{duplicates} duplicates"
        assert sink.count("node2.example.test") > 200 - sink.count("node1.example.test") - 1
    finally:
        node1.stop()
        node2.stop()
        sink.close()


def imap_state(server):
    """What a client caches per mailbox: STATUS counters and UID → flags, plus one message's text."""
    client = imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=tls_context(), timeout=20)
    client.login("alice@example.test", PASSWORD)
    state = {}
    for mailbox in ("INBOX", "Projects"):
        typ, data = client.status(mailbox, "(MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)")
        assert typ == "OK", data
        counters = data[0].decode()
        client.select(mailbox, readonly=True)
        typ, data = client.uid("FETCH", "1:*", "(FLAGS)")
        flags = sorted(item.decode() if isinstance(item, bytes) else item[0].decode() for item in data if item)
        state[mailbox] = (counters, flags)
    client.select("INBOX", readonly=True)
    typ, data = client.uid("FETCH", "2", "(BODY.PEEK[])")
    state["body"] = data[0][1]
    client.logout()
    return state


def test_migrate_store_keeps_uids_flags_and_modseqs(tmp_path, database):
    data_dir = tmp_path / "embedded"
    run("domain", "add", "example.test", "--data-dir", str(data_dir))
    run("user", "add", "alice@example.test", "--password", PASSWORD, "--data-dir", str(data_dir))
    run("alias", "add", "team@example.test", "alice@example.test", "--data-dir", str(data_dir))
    embedded = Server(data_dir)
    try:
        client = imaplib.IMAP4_SSL("127.0.0.1", embedded.port("imaps"), ssl_context=tls_context(), timeout=20)
        client.login("alice@example.test", PASSWORD)
        client.create("Projects")
        for index in range(1, 13):
            client.append("INBOX" if index % 3 else "Projects", None, None, message(f"old message {index}"))
        client.select("INBOX")
        client.uid("STORE", "1:4", "+FLAGS", "(\\Seen $Important)")
        client.uid("STORE", "5", "+FLAGS", "(\\Deleted)")
        client.expunge()
        client.logout()
        before = imap_state(embedded)
        refused = run("migrate-store", "--from", f"sqlite:{data_dir}", "--to", f"postgres:{database['url']}",
                      "--password-file", str(password_file(tmp_path, database)), check=False)
        assert refused.returncode != 0, refused.stdout
        assert f"letterbox serve (pid {embedded.pid}) is using this store; stop it first" in refused.stderr, refused.stderr
    finally:
        embedded.stop()

    migrate = run("migrate-store", "--from", f"sqlite:{data_dir}", "--to", f"postgres:{database['url']}",
                  "--password-file", str(password_file(tmp_path, database)), timeout=300)
    assert "copied and verified: 1 domains, 1 accounts, 1 aliases, 7 mailboxes, 11 messages" in migrate.stdout, migrate.stdout
    assert "100%" in migrate.stderr, migrate.stderr
    assert "queued, 2 DKIM keys" in migrate.stdout, migrate.stdout

    config = node_config(tmp_path, "node1", database)
    node = Server(tmp_path / "node1", extra_args=["--config", str(config)])
    try:
        after = imap_state(node)
        assert after == before, "UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, UIDs and flags survive the move"
        assert dkim_keys(tmp_path / "node1") == dkim_keys(data_dir), "the node signs with the embedded store's DKIM keys"
        assert "team@example.test" in run("alias", "list", "--config", str(config)).stdout
        # A mailbox made after the move gets a UIDVALIDITY never used before.
        client = imaplib.IMAP4_SSL("127.0.0.1", node.port("imaps"), ssl_context=tls_context(), timeout=20)
        client.login("alice@example.test", PASSWORD)
        client.create("New")
        validities = [re.search(r"UIDVALIDITY (\d+)", client.status(name, "(UIDVALIDITY)")[1][0].decode()).group(1)
                      for name in ("INBOX", "Projects", "New")]
        assert len(set(validities)) == 3, validities
        client.logout()
    finally:
        node.stop()
    again = run("migrate-store", "--from", f"sqlite:{data_dir}", "--to", f"postgres:{database['url']}",
                "--password-file", str(password_file(tmp_path, database)), check=False)
    assert again.returncode != 0 and "empty" in again.stderr, again.stderr


def imap_login_reply(server, password):
    sock = tls_context().wrap_socket(socket.create_connection(("127.0.0.1", server.port("imaps")), timeout=20))
    file = sock.makefile("rb")
    try:
        file.readline()
        sock.sendall(f'a LOGIN "alice@example.test" "{password}"\r\n'.encode())
        while True:
            line = file.readline().decode()
            if line.startswith("a "):
                return line.strip()
    finally:
        file.close()
        sock.close()


def test_a_lockout_on_one_node_holds_on_the_other_and_disable_ends_sessions_everywhere(tmp_path, database):
    node1, node2 = start_nodes(tmp_path, database, extra="[auth]\nlockout_threshold = 3\nlockout_duration = 600\n")
    try:
        idler = IMAP(node2)
        idler.command("SELECT INBOX")
        for _ in range(3):
            assert "NO [AUTHENTICATIONFAILED]" in imap_login_reply(node1, "wrong-password-1")
        # Node 2 never saw a failure itself: the lockout comes from the shared database.
        assert "NO [UNAVAILABLE]" in imap_login_reply(node2, PASSWORD)
        # Disabling the account on node 1's side ends node 2's open session within about a second.
        idler.send("i IDLE")
        assert idler.read().startswith("+")
        run("user", "disable", "alice@example.test", "--config", str(tmp_path / "node1.toml"))
        started = time.monotonic()
        line = idler.read()
        while not line.startswith("* BYE"):
            line = idler.read()
        assert "account disabled" in line and time.monotonic() - started < 5, line
        idler.close()
    finally:
        node1.stop()
        node2.stop()
