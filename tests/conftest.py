"""Shared fixtures for the interop tests: run the real `letterbox` binary on loopback, against a temp data directory.

Tests learn ports from DATA_DIR/run/listeners.json (every listener binds port 0 here), never from a fixed sleep.
"""
import json
import os
import pathlib
import random
import shutil
import signal
import socket
import struct
import subprocess
import time

import pytest

BIN = os.environ.get("LETTERBOX_BIN") or str(pathlib.Path(__file__).resolve().parent.parent / ".build/debug/letterbox")
SERVICES = ["smtp", "submission", "submissions", "imap", "imaps", "http"]


def run(*args, input=None, check=True, timeout=60):
    """Runs `letterbox ARGS…` and returns the CompletedProcess (text mode)."""
    result = subprocess.run([BIN, *args], input=input, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"letterbox {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def wait_for(predicate, timeout=30.0, what="condition", process=None):
    """Polls `predicate` until it returns a truthy value; fails early if `process` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if process is not None and process.poll() is not None:
            output = getattr(process, "letterbox_output", lambda: ("", ""))()
            raise AssertionError(f"server exited ({process.returncode}) while waiting for {what}:\n{output[0]}\n{output[1]}")
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def free_dns_port():
    """A loopback port free for UDP and TCP alike, below the kernel's ephemeral range (ip_local_port_range, usually
    32768 and up), so that no outgoing connection of a busy test run takes it between this check and dnsmasq binding
    it."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            upper = min(int(f.read().split()[0]), 32768)
    except (OSError, ValueError, IndexError):
        upper = 32768
    lower = upper - 10000 if upper > 12000 else 1024
    for _ in range(500):
        port = random.randrange(lower, upper)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                udp.bind(("127.0.0.1", port))
                tcp.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port
    raise AssertionError(f"no free port for dnsmasq in {lower}-{upper - 1}")


def dns_answers(port, name="letterbox.invalid"):
    """True when something on 127.0.0.1:PORT answers a DNS query over UDP (any RCODE): the server is up."""
    query_id = random.randrange(65536)
    question = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0" + struct.pack("!HH", 1, 1)
    packet = struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0) + question
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(0.2)
        try:
            udp.sendto(packet, ("127.0.0.1", port))
            reply, _ = udp.recvfrom(4096)
        except OSError:
            return False
    return len(reply) >= 12 and struct.unpack("!H", reply[:2])[0] == query_id


def start_dnsmasq(directory, port, records):
    """Debian's dnsmasq in the foreground on 127.0.0.1:PORT serving `records` (dnsmasq.conf lines); returns the process
    once it answers a query. Fails at once, with the reason, if dnsmasq exits (e.g. the port was taken after all)."""
    binary = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    if not os.path.exists(binary):
        pytest.fail("dnsmasq is not installed (scripts/install-test-deps installs dnsmasq-base)")
    config = pathlib.Path(directory) / "dnsmasq.conf"
    log = pathlib.Path(directory) / "dnsmasq.log"
    config.write_text("\n".join([
        f"port={port}", "listen-address=127.0.0.1", "bind-interfaces", "no-resolv", "no-hosts",
        *(["user=root"] if os.geteuid() == 0 else []), *records]) + "\n")
    with open(log, "w") as output:
        process = subprocess.Popen([binary, "--keep-in-foreground", f"--conf-file={config}", "--pid-file=", "--log-facility=-"],
                                   stdout=output, stderr=output)
    process.letterbox_output = lambda: (log.read_text(), "")
    wait_for(lambda: dns_answers(port), what=f"dnsmasq on port {port}", timeout=30, process=process)
    return process


class Server:
    """A running `letterbox serve` process with its data directory and bound listeners."""

    def __init__(self, data_dir, extra_args=(), dev=False, address="127.0.0.1", ports=None, launcher=(BIN,)):
        """`address` is where every listener binds; `ports` fixes some ports (e.g. {"smtp": 25}), the rest use port 0.
        `launcher` is the command that runs `letterbox` (e.g. setpriv … letterbox, to start it as another user)."""
        self.data_dir = pathlib.Path(data_dir)
        args = [*launcher, "serve", "--data-dir", str(self.data_dir), "--log-level", "debug"]
        if dev:
            args.append("--dev")
        for service in SERVICES:
            args += [f"--{service}", f"{address}:{(ports or {}).get(service, 0)}"]
        args += list(extra_args)
        self.listener_file = self.data_dir / "run" / "listeners.json"
        if self.listener_file.exists():
            self.listener_file.unlink()
        # Output goes to files, not pipes: a busy debug log must never fill a pipe nobody reads and block the server.
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._stdout = open(self.data_dir.parent / f"{self.data_dir.name}-server.out", "w+")
        self._stderr = open(self.data_dir.parent / f"{self.data_dir.name}-server.err", "w+")
        self.process = subprocess.Popen(args, stdout=self._stdout, stderr=self._stderr, text=True)
        self.process.letterbox_output = self.output
        info = wait_for(self._read_listeners, what="listeners.json", process=self.process)
        self.pid = info["pid"]
        self.listeners = {name: (addr.rsplit(":", 1)[0], int(addr.rsplit(":", 1)[1])) for name, addr in info["listeners"].items()}

    def _read_listeners(self):
        try:
            return json.loads(self.listener_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def output(self):
        """(stdout, stderr) written so far."""
        texts = []
        for stream in (self._stdout, self._stderr):
            stream.flush()
            stream.seek(0)
            texts.append(stream.read())
        return texts[0], texts[1]

    def port(self, service):
        return self.listeners[service][1]

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stops the server and returns (returncode, stdout, stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"server did not stop within {timeout}s after {sig}:\n{self.output()[1]}")
        out, err = self.output()
        return self.process.returncode, out, err


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def server(data_dir):
    """A running server on port-0 listeners with the domain example.test and the user alice@example.test."""
    run("domain", "add", "example.test", "--data-dir", str(data_dir))
    run("user", "add", "alice@example.test", "--password", "wonderland-42", "--data-dir", str(data_dir))
    instance = Server(data_dir)
    yield instance
    instance.stop()
