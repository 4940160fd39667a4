#!/usr/bin/env python3
"""Per-connection memory of idle IMAP sessions.

Starts `letterbox serve` (the binary given, debug or release) on a fresh data directory, opens N connections over implicit
TLS (IMAPS), each logged in, with INBOX selected and in IDLE, and reports (RSS after - RSS before) / N from
/proc/PID/status. Accounts are spread so no account exceeds the per-user connection limit (50), and connections come
from many loopback addresses (127.0.x.y) so none exceeds the per-address limit (20). A listener admits 1,000 at most.

    bench/imap-idle-memory.py .build/release/letterbox [--connections 1000] [--per-user 40] [--cleartext]

--cleartext measures plain IMAP (port 143 style, cleartext authentication allowed through a config file) instead, which
shows how much of the figure TLS takes.
"""
import argparse
import json
import pathlib
import resource
import socket
import ssl
import subprocess
import sys
import tempfile
import time

PASSWORD = "idle-bench-password"


def rss_kib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def letterbox(binary, data_dir, *args):
    subprocess.run([binary, *args, "--data-dir", str(data_dir)], check=True, capture_output=True, text=True, timeout=120)


class Session:
    """One IMAPS connection driven to IDLE."""

    opened = 0

    def __init__(self, port, context, user):
        """`context` None: a cleartext connection."""
        # 10 connections per source address, well under the per-address limit.
        n = Session.opened // 10
        Session.opened += 1
        source = f"127.0.{2 + n // 250}.{1 + n % 250}"
        sock = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0))
        self.sock = context.wrap_socket(sock) if context else sock
        self.file = self.sock.makefile("rb")
        self.expect(b"* OK")
        self.command(f'a LOGIN "{user}" "{PASSWORD}"', b"a OK")
        self.command("b SELECT INBOX", b"b OK")
        self.command("c IDLE", b"+ ")

    def expect(self, prefix):
        while True:
            line = self.file.readline()
            if not line:
                raise EOFError("connection closed")
            if line.startswith(prefix):
                return line
            if line.split(b" ", 1)[0] in (b"a", b"b", b"c"):
                raise RuntimeError(line)

    def command(self, text, until):
        self.sock.sendall(text.encode() + b"\r\n")
        self.expect(until)

    def close(self):
        try:
            self.sock.sendall(b"DONE\r\n")
            self.file.close()  # the socket closes only once its file object is closed too
            self.sock.close()
        except OSError:
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--per-user", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--cleartext", action="store_true", help="plain IMAP instead of IMAPS")
    options = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, options.connections * 2 + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = pathlib.Path(tmp) / "data"
        letterbox(options.binary, data_dir, "domain", "add", "bench.test")
        users = [f"u{n}@bench.test" for n in range((options.connections + options.per_user - 1) // options.per_user)]
        for user in users:
            letterbox(options.binary, data_dir, "user", "add", user, "--password", PASSWORD)
        listeners = data_dir / "run" / "listeners.json"
        log = open(pathlib.Path(tmp) / "server.log", "w")
        # The server inherits our raised descriptor limit.
        service = "imap" if options.cleartext else "imaps"
        config = pathlib.Path(tmp) / "letterbox.toml"
        config.write_text(f'data_dir = "{data_dir}"\n\n[auth]\nallow_cleartext = {str(options.cleartext).lower()}\n')
        listen = {name: "off" for name in ("smtp", "submission", "submissions", "imap", "imaps", "http")}
        listen[service] = "127.0.0.1:0"
        server = subprocess.Popen(
            [options.binary, "serve", "--config", str(config), "--data-dir", str(data_dir), "--log-level", "warning"]
            + [argument for name, address in listen.items() for argument in (f"--{name}", address)],
            stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while not listeners.exists():
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("server did not start: " + (pathlib.Path(tmp) / "server.log").read_text())
                time.sleep(0.05)
            time.sleep(0.2)
            port = int(json.loads(listeners.read_text())["listeners"][service].rsplit(":", 1)[1])
            context = None
            if not options.cleartext:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE

            # Warm up: every account logs in once (fills the login cache), then those sessions go away.
            warm = [Session(port, context, user) for user in users]
            warm += [Session(port, context, users[0]) for _ in range(options.warmup)]
            for session in warm:
                session.close()
            time.sleep(3)
            before = rss_kib(server.pid)
            started = time.monotonic()
            sessions = [Session(port, context, users[n // options.per_user]) for n in range(options.connections)]
            opened = time.monotonic() - started
            time.sleep(3)
            after = rss_kib(server.pid)
            per_connection = (after - before) * 1024 / options.connections
            print(json.dumps({
                "binary": options.binary, "service": service, "connections": options.connections, "accounts": len(users),
                "rss_before_kib": before, "rss_after_kib": after,
                "bytes_per_connection": round(per_connection), "kib_per_connection": round(per_connection / 1024, 1),
                "seconds_to_open": round(opened, 2),
            }, indent=2))
            for session in sessions:
                session.close()
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
