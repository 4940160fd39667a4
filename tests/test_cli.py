"""End-to-end tests of the administration commands and `serve`, run against the built binary."""
import os
import signal
import sqlite3
import subprocess

import pytest
from conftest import BIN, Server, run


def admin(data_dir, *args, **kwargs):
    return run(*args, "--data-dir", str(data_dir), **kwargs)


def test_domain_add_list_remove(data_dir):
    added = admin(data_dir, "domain", "add", "Example.ORG").stdout.strip()
    assert added == "added domain example.org (DKIM keys made; publish the records from: letterbox dns example.org)"
    keys = sorted((data_dir / "dkim" / "example.org").glob("*.pem"))
    assert len(keys) == 2 and all(oct(key.stat().st_mode & 0o777) == "0o600" for key in keys)
    admin(data_dir, "domain", "add", "second.test")
    assert admin(data_dir, "domain", "list").stdout.split() == ["example.org", "second.test"]
    admin(data_dir, "domain", "remove", "second.test")
    assert admin(data_dir, "domain", "list").stdout.split() == ["example.org"]


@pytest.mark.parametrize("args, message", [
    (["domain", "add", "not a domain"], "'not a domain' is not a valid domain name"),
    (["domain", "add", "example.test"], "domain 'example.test' already exists"),
    (["domain", "remove", "nowhere.test"], "nowhere.test"),
    (["user", "add", "bob@nowhere.test", "--password", "long enough 1"], "domain 'nowhere.test' is not served here"),
    (["user", "add", "not-an-address", "--password", "long enough 1"], "'not-an-address' is not a valid email address"),
    (["user", "add", "bob@example.test", "--password", ""], "password refused: it is empty"),
    (["user", "add", "bob@example.test", "--password", "short"], "password refused: it is shorter than 8 characters"),
    (["user", "add", "bob@example.test", "--password", "password123"], "password refused: it is one of the most common"),
    (["user", "add", "bob@example.test"], "give the password with --password or --password-stdin"),
    (["user", "passwd", "nobody@example.test", "--password", "long enough 1"], "no such user"),
    (["user", "remove", "nobody@example.test"], "no such user"),
    (["alias", "add", "sales@nowhere.test", "bob@example.test"], "domain 'nowhere.test' is not served here"),
    (["alias", "remove", "nothing@example.test"], "no such alias"),
])
def test_bad_input_gives_one_clear_line_and_nonzero_exit(data_dir, args, message):
    admin(data_dir, "domain", "add", "example.test")
    result = admin(data_dir, *args, check=False)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "Fatal error" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) <= 3, result.stderr


def test_duplicate_user_is_refused_case_insensitively(data_dir):
    admin(data_dir, "domain", "add", "example.test")
    admin(data_dir, "user", "add", "bob@example.test", "--password", "a good passphrase")
    result = admin(data_dir, "user", "add", "BOB@example.test", "--password", "a good passphrase", check=False)
    assert result.returncode != 0 and "already exists" in result.stderr


def test_users_with_password_stdin_passwd_and_remove(data_dir):
    admin(data_dir, "domain", "add", "example.test")
    admin(data_dir, "user", "add", "carol@example.test", "--password-stdin", input="a secret phrase\n")
    admin(data_dir, "user", "add", "dave@example.test", "--password", "a secret phrase")
    assert admin(data_dir, "user", "list").stdout.split() == ["carol@example.test", "dave@example.test"]
    admin(data_dir, "user", "passwd", "carol@example.test", "--password-stdin", input="another secret phrase\n")
    admin(data_dir, "user", "remove", "dave@example.test")
    assert admin(data_dir, "user", "list", "example.test").stdout.split() == ["carol@example.test"]


def test_passwords_are_stored_only_as_salted_scram_credentials(data_dir):
    admin(data_dir, "domain", "add", "example.test")
    admin(data_dir, "user", "add", "erin@example.test", "--password", "very secret words")
    admin(data_dir, "user", "add", "frank@example.test", "--password", "very secret words")
    with sqlite3.connect(data_dir / "letterbox.sqlite") as db:
        rows = db.execute("SELECT credential FROM account ORDER BY address").fetchall()
    credentials = [row[0] for row in rows]
    for credential in credentials:
        scheme, params, keys = credential.split("$")
        assert scheme == "SCRAM-SHA-256"
        assert int(params.split(":")[0]) == 10_000  # Cyrus SASL clients (mbsync) refuse more
        assert "secret" not in credential
    assert credentials[0] != credentials[1], "same password, different salts"


def test_aliases(data_dir):
    admin(data_dir, "domain", "add", "example.test")
    admin(data_dir, "user", "add", "gina@example.test", "--password", "a good passphrase")
    admin(data_dir, "alias", "add", "team@example.test", "gina@example.test", "partner@remote.test")
    admin(data_dir, "alias", "add", "@example.test", "gina@example.test")
    assert admin(data_dir, "alias", "list").stdout.splitlines() == [
        "@example.test -> gina@example.test",
        "team@example.test -> gina@example.test",
        "team@example.test -> partner@remote.test",
    ]
    admin(data_dir, "alias", "remove", "team@example.test", "partner@remote.test")
    admin(data_dir, "alias", "remove", "@example.test")
    assert admin(data_dir, "alias", "list").stdout.splitlines() == ["team@example.test -> gina@example.test"]


def test_list_on_a_missing_data_directory_says_so(tmp_path):
    result = run("domain", "list", "--data-dir", str(tmp_path / "nothing-here"), check=False)
    assert result.returncode != 0 and "no Letterbox data here" in result.stderr
    assert not (tmp_path / "nothing-here").exists(), "a read-only command must not create a data directory"


def test_admin_commands_work_while_the_server_runs(server):
    data = str(server.data_dir)
    run("domain", "add", "live.test", "--data-dir", data)
    run("user", "add", "henry@live.test", "--password", "a good passphrase", "--data-dir", data)
    run("alias", "add", "info@live.test", "henry@live.test", "--data-dir", data)
    assert "henry@live.test" in run("user", "list", "--data-dir", data).stdout
    assert server.process.poll() is None, "the server keeps running"
    code, _, err = server.stop()
    assert code == 0, err


def test_a_second_serve_on_the_same_data_directory_is_refused(server):
    ports = [arg for service in ("smtp", "submission", "submissions", "imap", "imaps", "http") for arg in (f"--{service}", "127.0.0.1:0")]
    result = subprocess.run([BIN, "serve", "--data-dir", str(server.data_dir), *ports], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"another letterbox serve (pid {server.pid}) is using it" in result.stderr, result.stderr
    assert "Fatal error" not in result.stderr
    assert server.process.poll() is None, "the first server runs on"
    server.stop(signal.SIGKILL)
    second = Server(server.data_dir)  # the kernel released the lock with the killed process
    assert second.pid != server.pid
    second.stop()


def test_serve_dev_creates_the_demo_account_and_prints_how_to_connect(data_dir):
    first = Server(data_dir, dev=True)
    code, out, err = first.stop()
    assert code == 0, err
    assert "demo@example.test" in out
    password = next(line.split(":", 1)[1].strip() for line in out.splitlines() if "password:" in line)
    assert len(password) >= 12
    assert admin(data_dir, "user", "list").stdout.split() == ["demo@example.test"]
    second = Server(data_dir, dev=True)
    _, out2, _ = second.stop()
    assert password in out2, "the same demo password on every start"


def write_config(tmp_path, text):
    path = tmp_path / "letterbox.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("config, expected", [
    ('hostnme = "mail.example.test"\n', "hostnme: unknown key"),
    ('[listen]\nsmtp = "nonsense"\n', 'listen.smtp = nonsense: expected HOST:PORT'),
    ('[auth]\ncredential_iterations = 10\n', "auth.credential_iterations = 10: must be between 4096"),
    ('[auth]\nallow_cleartext = "yes"\n', "auth.allow_cleartext"),
    ('[tls]\ncert = "/nonexistent/cert.pem"\nkey = "/nonexistent/key.pem"\n', "tls.cert = /nonexistent/cert.pem: the file does not exist"),
    ('[listen]\nsmtp = "127.0.0.1:2525"\nimap = "127.0.0.1:2525"\n', "conflicts with listen.smtp"),
    ('this is = not toml', "not valid TOML"),
])
def test_bad_configuration_is_refused_naming_key_value_and_problem(tmp_path, config, expected):
    path = write_config(tmp_path, config)
    result = subprocess.run([BIN, "serve", "--config", path, "--data-dir", str(tmp_path / "d")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert expected in result.stderr, result.stderr
    assert "Fatal error" not in result.stderr and "Stack dump" not in result.stderr


def test_the_example_configuration_is_valid(tmp_path):
    example = os.path.join(os.path.dirname(__file__), "..", "letterbox.example.toml")
    text = open(example).read().replace('data_dir = "/var/lib/letterbox"', f'data_dir = "{tmp_path}/d"')
    path = write_config(tmp_path, text)
    data_dir = tmp_path / "d"
    result = run("domain", "add", "example.test", "--config", path)
    assert "added domain" in result.stdout
    assert (data_dir / "letterbox.sqlite").exists()


def test_sigterm_stops_the_server_cleanly(server):
    code, _, err = server.stop(signal.SIGTERM)
    assert code == 0, err
    assert not server.listener_file.exists()


def test_a_port_in_use_is_refused_naming_the_key_and_address(data_dir, tmp_path):
    import socket
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        result = subprocess.run(
            [BIN, "serve", "--data-dir", str(data_dir), "--smtp", f"127.0.0.1:{port}", "--submission", "off",
             "--submissions", "off", "--imap", "off", "--imaps", "off", "--http", "off"],
            capture_output=True, text=True, timeout=60)
    finally:
        blocker.close()
    assert result.returncode != 0
    assert f"listen.smtp = 127.0.0.1:{port}: address already in use" in result.stderr, result.stderr
    assert "Fatal error" not in result.stderr


def test_sighup_reloads_the_certificate_without_dropping_connections(server):
    import socket
    import ssl
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    port = server.port("imaps")
    with socket.create_connection(("127.0.0.1", port)) as raw, context.wrap_socket(raw) as live:
        assert live.recv(4096).startswith(b"* OK")
        server.process.send_signal(signal.SIGHUP)
        from conftest import wait_for
        wait_for(lambda: "TLS certificate reloaded" in server.output()[1], what="reload log line", process=server.process)
        live.sendall(b"a1 NOOP\r\n")
        assert b"a1 OK" in live.recv(4096), "the live connection survives the reload"
        with socket.create_connection(("127.0.0.1", port)) as raw2, context.wrap_socket(raw2) as fresh:
            assert fresh.recv(4096).startswith(b"* OK")
    assert server.process.poll() is None
