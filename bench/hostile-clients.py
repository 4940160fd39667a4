#!/usr/bin/env python3
"""Server memory and connection lifetimes under hostile clients that never log in (issue 15, section 6).

Starts `letterbox serve` (the binary given) on a fresh data directory with the default limits and runs, one after the
other, sampling the server's VmRSS every 20 ms:
- imap-nonsync: N connections on port 143 each send `a1 LOGIN {50000000+}` and then the 50 MB as fast as the server
  takes them;
- imap-sync: N connections each announce `a1 LOGIN {50000000}` (and wait, as a client must, for a `+` that never
  comes);
- http-slowloris: M connections each start a GET and then send one header byte every 5 s; reports when the last was
  closed.

    bench/hostile-clients.py .build/release/letterbox [--connections 50] [--slowloris 200] [--json out.json]
"""
import argparse
import json
import pathlib
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time

LITERAL = 50_000_000
CHUNK = b"x" * 65536


def rss_kib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def read_line(sock, deadline):
    line = b""
    while not line.endswith(b"\n") and time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            byte = sock.recv(1)
        except OSError:
            break
        if not byte:
            break
        line += byte
    return line


def literal_client(port, synchronizing, results, index):
    started = time.monotonic()
    deadline = started + 60
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    try:
        read_line(sock, deadline)
        sock.sendall(f"a1 LOGIN {{{LITERAL}{'' if synchronizing else '+'}}}\r\n".encode())
        sent = 0
        while not synchronizing and sent < LITERAL and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1)
            if readable:
                break
            if writable:
                try:
                    sent += sock.send(CHUNK[: min(len(CHUNK), LITERAL - sent)])
                except OSError:
                    break
        answer = read_line(sock, deadline).decode(errors="replace").strip()
        results[index] = {"answer": answer, "sent": sent, "seconds": time.monotonic() - started}
    finally:
        sock.close()


def sample_while(pid, threads):
    baseline = rss_kib(pid)
    peak = baseline
    while any(thread.is_alive() for thread in threads):
        peak = max(peak, rss_kib(pid))
        time.sleep(0.02)
    return baseline, max(peak, rss_kib(pid))


def imap_flood(pid, port, count, synchronizing):
    results = [None] * count
    threads = [threading.Thread(target=literal_client, args=(port, synchronizing, results, i)) for i in range(count)]
    for thread in threads:
        thread.start()
    baseline, peak = sample_while(pid, threads)
    for thread in threads:
        thread.join()
    answers = sorted({r["answer"] for r in results})
    return {
        "connections": count, "rss_before_mb": round(baseline / 1024, 1), "rss_peak_mb": round(peak / 1024, 1),
        "rss_after_mb": round(rss_kib(pid) / 1024, 1), "answers": answers,
        "max_seconds_to_answer": round(max(r["seconds"] for r in results), 3),
        "bytes_client_got_out_before_close_max": max(r["sent"] for r in results),
    }


def slowloris(pid, port, count, interval=5.0):
    connections = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"GET /mail/config-v1.1.xml HTTP/1.1\r\nHost: example.test\r\n")
        connections.append(sock)
    started = time.monotonic()
    baseline = rss_kib(pid)
    open_ones = {sock.fileno(): sock for sock in connections}
    closed_at = []
    next_byte = started + interval
    while open_ones and time.monotonic() - started < 120:
        if time.monotonic() >= next_byte:
            for sock in list(open_ones.values()):
                try:
                    sock.send(b"X")
                except OSError:
                    pass
            next_byte += interval
        readable, _, _ = select.select(list(open_ones.values()), [], [], 0.1)
        for sock in readable:
            try:
                data = sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                closed_at.append(time.monotonic() - started)
                del open_ones[sock.fileno()]
    for sock in connections:
        sock.close()
    return {"connections": count, "still_open_after_120s": len(open_ones), "first_closed_s": round(min(closed_at), 2) if closed_at else None,
            "last_closed_s": round(max(closed_at), 2) if closed_at else None, "rss_mb": round(baseline / 1024, 1)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--slowloris", type=int, default=200)
    parser.add_argument("--json")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        data_dir = pathlib.Path(directory) / "data"
        subprocess.run([options.binary, "domain", "add", "example.test", "--data-dir", str(data_dir)], check=True, capture_output=True)
        args = [options.binary, "serve", "--data-dir", str(data_dir)]
        for service in ["smtp", "submission", "submissions", "imap", "imaps", "http"]:
            args += [f"--{service}", "127.0.0.1:0"]
        server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            listeners = data_dir / "run" / "listeners.json"
            deadline = time.monotonic() + 60
            while not listeners.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            info = json.loads(listeners.read_text())
            ports = {name: int(address.rsplit(":", 1)[1]) for name, address in info["listeners"].items()}
            report = {
                "imap-nonsync": imap_flood(server.pid, ports["imap"], options.connections, synchronizing=False),
                "imap-sync": imap_flood(server.pid, ports["imap"], options.connections, synchronizing=True),
                "http-slowloris": slowloris(server.pid, ports["http"], options.slowloris),
            }
        finally:
            server.terminate()
            server.wait(timeout=30)
    text = json.dumps(report, indent=2)
    print(text)
    if options.json:
        pathlib.Path(options.json).write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
