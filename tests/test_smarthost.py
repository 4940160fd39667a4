"""Relaying through a smarthost (issue 6): every outbound message goes to the configured relay over STARTTLS with
AUTH PLAIN, and a wrong password leaves the message queued with the relay's reason (no bounce, no cleartext login).

The relay is a small scripted SMTP server in this file (STARTTLS with a certificate made by openssl, AUTH PLAIN only
after TLS, then MAIL/RCPT/DATA), so the test sees exactly what Letterbox sends."""
import base64
import socket
import ssl
import subprocess
import threading

import pytest
from conftest import Server, run, wait_for

PASSWORD = "wonderland-42"


class Relay(threading.Thread):
    def __init__(self, tmp_path, user, password):
        super().__init__(daemon=True)
        self.user, self.password = user, password
        cert, key = tmp_path / "relay.pem", tmp_path / "relay.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                        "-days", "1", "-subj", "/CN=relay.test"], check=True, capture_output=True)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(cert), str(key))
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.messages, self.logins, self.cleartext_auth = [], [], False
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
        tls = authenticated = False

        def send(line):
            sock.sendall(line.encode() + b"\r\n")
        send("220 relay.test ESMTP")
        envelope = {}
        try:
            while True:
                line = stream.readline().decode().rstrip("\r\n")
                if not line:
                    return
                verb = line.split(" ")[0].upper()
                if verb == "EHLO":
                    send("250-relay.test")
                    send("250 AUTH PLAIN" if tls else "250 STARTTLS")
                elif verb == "STARTTLS":
                    send("220 go ahead")
                    sock = self.context.wrap_socket(sock, server_side=True)
                    stream = sock.makefile("rb")
                    tls = True
                elif verb == "AUTH":
                    if not tls:
                        self.cleartext_auth = True
                    _, user, password = base64.b64decode(line.split(" ")[2]).split(b"\0")
                    self.logins.append(user.decode())
                    authenticated = (user.decode(), password.decode()) == (self.user, self.password)
                    send("235 2.7.0 ok" if authenticated else "535 5.7.8 bad credentials")
                elif verb == "MAIL":
                    if not authenticated:
                        send("530 5.7.0 authentication required")
                        continue
                    envelope = {"from": line, "to": []}
                    send("250 ok")
                elif verb == "RCPT":
                    envelope["to"].append(line)
                    send("250 ok")
                elif verb == "DATA":
                    send("354 go")
                    body = b""
                    while True:
                        chunk = stream.readline()
                        if chunk == b".\r\n":
                            break
                        body += chunk
                    envelope["body"] = body
                    self.messages.append(envelope)
                    send("250 2.0.0 queued")
                elif verb == "RSET":
                    send("250 ok")
                elif verb == "QUIT":
                    send("221 bye")
                    return
                else:
                    send("502 no")
        except (OSError, ssl.SSLError, ValueError):
            return
        finally:
            sock.close()

    def close(self):
        self.listener.close()


def start(tmp_path, relay, password):
    data_dir = tmp_path / "data"
    secret = tmp_path / "relay-password"
    secret.write_text(password + "\n")
    secret.chmod(0o600)
    config = tmp_path / "letterbox.toml"
    config.write_text(
        f'data_dir = "{data_dir}"\nhostname = "mx.local.test"\n[delivery]\nsmarthost = "127.0.0.1:{relay.port}"\n'
        f'smarthost_tls = "required"\nsmarthost_user = "relayuser"\nsmarthost_password_file = "{secret}"\n'
        "first_retry = 1\nmax_retry_interval = 2\n")
    run("domain", "add", "local.test", "--config", str(config))
    run("user", "add", "alice@local.test", "--password", PASSWORD, "--config", str(config))
    return Server(data_dir, extra_args=["--config", str(config)]), config


def submit(server):
    import smtplib
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", server.port("submission"), timeout=30) as smtp:
        smtp.starttls(context=context)
        smtp.login("alice@local.test", PASSWORD)
        smtp.sendmail("alice@local.test", ["carol@far-away.test"], b"Subject: via relay\r\n\r\nhello\r\n")


def test_everything_goes_through_the_smarthost_with_auth_over_tls(tmp_path):
    relay = Relay(tmp_path, "relayuser", "s3cret-relay")
    server, config = start(tmp_path, relay, "s3cret-relay")
    try:
        submit(server)
        wait_for(lambda: relay.messages, what="the message at the smarthost", timeout=30)
        assert relay.logins == ["relayuser"] and not relay.cleartext_auth
        assert relay.messages[0]["to"] == ["RCPT TO:<carol@far-away.test>"]
        assert b"Subject: via relay" in relay.messages[0]["body"]
        wait_for(lambda: "the queue is empty" in run("queue", "list", "--config", str(config)).stdout, what="an empty queue")
    finally:
        server.stop()
        relay.close()


def test_wrong_smarthost_password_keeps_the_message_queued(tmp_path):
    relay = Relay(tmp_path, "relayuser", "s3cret-relay")
    server, config = start(tmp_path, relay, "wrong-password")
    try:
        submit(server)
        listing = wait_for(lambda: (lambda t: t if "535" in t else None)(run("queue", "list", "--config", str(config)).stdout),
                           what="the relay's refusal in the queue", timeout=30)
        assert "carol@far-away.test  pending" in listing
        assert relay.messages == [] and not relay.cleartext_auth
    finally:
        server.stop()
        relay.close()
