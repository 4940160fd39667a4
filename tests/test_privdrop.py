"""Never serving as root (issue 15, section 7): `[server] user`.

Started as root with `[server] user = "letterbox-test"` (a system user made once and reused), the server binds its
listeners, makes the data directory the user's and switches to it for good before serving: every thread's uids and gids
in /proc/PID/task/*/status are the user's, no capability is left, mail still comes in (MX, submission), goes out (a
static route to a sink on loopback) and is read over IMAP. Administration commands run as root on that data directory
become its owner, so what they create (a domain's DKIM keys, SQLite's WAL, blobs/.lock) stays the server's, and the
running server signs with the new keys. Without `[server] user` a root server warns and `letterbox doctor` fails its
"not running as root" check; a non-root server asked to become someone else refuses to start.
"""
import imaplib
import json
import os
import pathlib
import pwd
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading

import pytest
from conftest import BIN, Server, run, wait_for

USER = "letterbox-test"
PASSWORD = "wonderland-42"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="starts the server as root (as CI runs)")


@pytest.fixture(scope="module")
def account():
    """The system user `letterbox-test` (created if missing, kept for the next run)."""
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", USER], check=True, capture_output=True)
        return pwd.getpwnam(USER)


@pytest.fixture
def home():
    """A directory the server user can reach (pytest's own tmp_path is in /tmp/pytest-of-root, mode 0700)."""
    directory = pathlib.Path(tempfile.mkdtemp(prefix="letterbox-privdrop-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


class Sink(threading.Thread):
    """A plain SMTP server on loopback that keeps each message it is given (the far side of a static route)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.messages = []
        self.start()

    def run(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.session, args=(connection,), daemon=True).start()

    def session(self, sock):
        stream = sock.makefile("rb")
        send = lambda line: sock.sendall(line.encode() + b"\r\n")  # noqa: E731
        send("220 sink.test ESMTP")
        with sock:
            while True:
                line = stream.readline().decode().rstrip("\r\n")
                verb = line.split(" ")[0].upper()
                if not line or verb == "QUIT":
                    send("221 bye")
                    return
                if verb == "EHLO":
                    send("250 sink.test")
                elif verb == "DATA":
                    send("354 go ahead")
                    data = b""
                    while (chunk := stream.readline()) != b".\r\n":
                        data += chunk
                    self.messages.append(data)
                    send("250 kept")
                else:
                    send("250 ok")

    def close(self):
        self.listener.close()


def tls_context():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def write_config(home, data_dir, user=None, sink=None, mode=0o600):
    """A configuration only root may read (proving it is read before the switch)."""
    config = home / "letterbox.toml"
    config.write_text(
        f'hostname = "mail.example.test"\ndata_dir = "{data_dir}"\n'
        + (f'[server]\nuser = "{user}"\n' if user else "")
        + ("[delivery.routes]\n" f'"remote.test" = "127.0.0.1:{sink.port}"\n'
           '[delivery.tls_policy]\n"remote.test" = "none"\n' if sink else ""))
    config.chmod(mode)
    return config


def task_ids(pid, field):
    """Every thread's `field` line values (Uid:/Gid:/Groups:/CapEff:) from /proc/PID/task/*/status."""
    result = {}
    for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith(field + ":"):
                result[task.name] = line.split()[1:]
    return result


def owners(directory):
    """Paths under `directory` (itself included) not owned by the expected uid:gid, as {path: (uid, gid)}."""
    found = {str(directory): os.lstat(directory)}
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            found[os.path.join(root, name)] = os.lstat(os.path.join(root, name))
    return {path: (info.st_uid, info.st_gid) for path, info in found.items()}


def deliver(server, recipient, subject):
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=30) as smtp:
        smtp.sendmail("carol@remote.test", [recipient],
                      f"From: carol@remote.test\r\nTo: {recipient}\r\nSubject: {subject}\r\n\r\nHello.\r\n".encode())


def submit(server, user, recipient, subject):
    with smtplib.SMTP("127.0.0.1", server.port("submission"), timeout=30) as smtp:
        smtp.starttls(context=tls_context())
        smtp.login(user, PASSWORD)
        smtp.sendmail(user, [recipient], f"From: {user}\r\nTo: {recipient}\r\nSubject: {subject}\r\n\r\nHi.\r\n".encode())


def inbox(server, user):
    """Every message in USER's INBOX, as bytes (IMAP over implicit TLS)."""
    with imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=tls_context(), timeout=30) as imap:
        imap.login(user, PASSWORD)
        imap.select("INBOX", readonly=True)
        _, numbers = imap.search(None, "ALL")
        messages = []
        for number in numbers[0].split():
            _, data = imap.fetch(number, "(BODY.PEEK[])")
            messages.append(data[0][1])
        return messages


def test_root_switches_to_the_server_user_before_serving_and_mail_flows(account, home):
    data_dir = home / "data"
    sink = Sink()
    config = write_config(home, data_dir, user=USER, sink=sink)
    run("domain", "add", "example.test", "--config", str(config))     # as root, before the server: root's files
    run("user", "add", "alice@example.test", "--password", PASSWORD, "--config", str(config))
    assert os.stat(data_dir / "letterbox.sqlite").st_uid == 0
    server = Server(data_dir, extra_args=["--config", str(config)])
    try:
        uid, gid = account.pw_uid, account.pw_gid
        info = json.loads(server.listener_file.read_text())
        assert (info["uid"], info["gid"], info["user"]) == (uid, gid, USER)
        # Every thread (event loops, the concurrency pool) lost root: real, effective, saved and filesystem ids.
        uids, gids = task_ids(server.pid, "Uid"), task_ids(server.pid, "Gid")
        assert len(uids) > 1, "the server has several threads"
        assert all(ids == [str(uid)] * 4 for ids in uids.values()), uids
        assert all(ids == [str(gid)] * 4 for ids in gids.values()), gids
        assert all("0" not in groups for groups in task_ids(server.pid, "Groups").values())
        assert all(int(caps[0], 16) == 0 for caps in task_ids(server.pid, "CapEff").values())
        assert all(int(caps[0], 16) == 0 for caps in task_ids(server.pid, "CapPrm").values())
        assert {path: ids for path, ids in owners(data_dir).items() if ids != (uid, gid)} == {}
        assert "switched to the server user" in server.output()[1]

        # Mail in (MX and submission), out (static route) and read (IMAP), all as the server user.
        deliver(server, "alice@example.test", "inbound as letterbox-test")
        submit(server, "alice@example.test", "alice@example.test", "submitted locally")
        submit(server, "alice@example.test", "dave@remote.test", "to the outside")
        messages = wait_for(lambda: (found := inbox(server, "alice@example.test")) and len(found) == 2 and found,
                            what="two messages in alice's INBOX", process=server.process)
        assert b"Subject: inbound as letterbox-test" in messages[0] and b"Subject: submitted locally" in messages[1]
        wait_for(lambda: sink.messages, what="the outbound message at the sink", process=server.process)
        assert b"Subject: to the outside" in sink.messages[0] and b"DKIM-Signature:" in sink.messages[0]

        # Administration as root while it runs: the command becomes the data directory's owner, so the new domain's
        # DKIM keys, SQLite's files and blobs/.lock are the server's, and the server uses them.
        run("domain", "add", "second.test", "--config", str(config))
        run("user", "add", "bob@second.test", "--password", PASSWORD, "--data-dir", str(data_dir))
        run("gc", "--data-dir", str(data_dir))
        assert {path: ids for path, ids in owners(data_dir).items() if ids != (uid, gid)} == {}
        assert list((data_dir / "dkim" / "second.test").glob("*.pem")), "the new domain has keys"
        submit(server, "bob@second.test", "dave@remote.test", "signed with the new key")
        wait_for(lambda: len(sink.messages) == 2, what="the second outbound message", process=server.process)
        assert b"d=second.test" in sink.messages[1]
        deliver(server, "bob@second.test", "for bob")
        wait_for(lambda: inbox(server, "bob@second.test"), what="bob's message", process=server.process)
        assert "alice@example.test" in run("user", "list", "--data-dir", str(data_dir)).stdout

        # The certificate (DATA_DIR/tls, now the user's) is read again on SIGHUP, as the server user.
        server.process.send_signal(signal.SIGHUP)
        wait_for(lambda: "TLS certificate reloaded" in server.output()[1], what="the reload", process=server.process)
    finally:
        code, _, err = server.stop()
        sink.close()
        print(err[-8000:])   # shown when the test failed
    assert code == 0, err


def test_root_without_a_user_warns_and_doctor_fails_the_server_user_check(data_dir):
    run("domain", "add", "example.test", "--data-dir", str(data_dir))
    server = Server(data_dir)
    try:
        assert "letterbox is running as root" in server.output()[1]
        assert json.loads(server.listener_file.read_text())["uid"] == 0
        result = run("doctor", "--data-dir", str(data_dir), "--json", check=False, timeout=120)
        checks = {check["name"]: check for check in json.loads(result.stdout)}
        check = checks["not running as root"]
        assert not check["passed"] and check["required"] and "runs as root" in check["detail"]
        assert '[server] user = "letterbox"' in check["fix"] and "contrib/letterbox.service" in check["fix"]
        assert result.returncode == 1
    finally:
        server.stop()


def test_dev_mode_as_root_only_warns(tmp_path):
    server = Server(tmp_path / "data", dev=True)
    try:
        assert "letterbox is running as root" in server.output()[1]
    finally:
        code, _, err = server.stop()
    assert code == 0, err


def as_user(account, *args, timeout=60):
    """`letterbox ARGS…` run as the server user (setpriv: its uid, gid and groups), output and exit status."""
    command = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--init-groups", BIN, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def test_a_non_root_server_cannot_switch_to_another_user(account, home):
    data_dir = home / "data"
    data_dir.mkdir()
    os.chown(data_dir, account.pw_uid, account.pw_gid)
    config = write_config(home, data_dir, user="nobody", mode=0o644)
    result = as_user(account, "serve", "--config", str(config), "--smtp", "127.0.0.1:0")
    assert result.returncode != 0
    assert "server.user = nobody" in result.stderr and "only root can switch" in result.stderr, result.stderr
    assert not (data_dir / "run" / "listeners.json").exists()


def test_a_non_root_server_already_running_as_the_user_starts(account, home):
    data_dir = home / "data"
    data_dir.mkdir()
    os.chown(data_dir, account.pw_uid, account.pw_gid)
    config = write_config(home, data_dir, user=USER, mode=0o644)
    args = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--init-groups", BIN]
    server = Server(data_dir, extra_args=["--config", str(config)], launcher=args)
    try:
        assert json.loads(server.listener_file.read_text())["uid"] == account.pw_uid
        assert "running as root" not in server.output()[1]
    finally:
        code, _, err = server.stop()
    assert code == 0, err
