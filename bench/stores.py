#!/usr/bin/env python3
"""Letterbox on SQLite versus PostgreSQL, one node and two nodes (issue 10's benchmark row). Same machine, one run.

  sqlite, 1 node      the embedded default
  postgres, 1 node    store.backend = "postgres" on a private PostgreSQL (scripts/test-postgres: fsync on, TLS)
  postgres, 2 nodes   two `letterbox serve` processes on that database; the load is split evenly between them

Workloads (letterbox-load): SMTP inbound to 10 users (messages/s, 250 = committed) and the IMAP mixed workload
(operations/s). Usage: bench/run-stores [--rounds N] [--quick]; writes bench/results/stores.md and .json.
"""
import argparse
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench import PASSWORD, USERS, Letterbox, load  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent


def make_node(root, binary, extra="", setup=True):
    root.mkdir(parents=True, exist_ok=True)
    return Letterbox(root, binary, extra, setup)


def smtp_rate(binary, nodes, connections, total):
    """Messages/s over all nodes: each node gets connections/len(nodes) connections at the same time."""
    results = [None] * len(nodes)

    def drive(index, node):
        results[index] = load(binary, "smtp", "--port", str(node.smtp_port), "--connections", str(connections // len(nodes)),
                              "--messages", str(total // connections), *sum((["--to", u] for u in USERS), []))

    started = time.monotonic()
    threads = [threading.Thread(target=drive, args=(i, n)) for i, n in enumerate(nodes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return sum(r["operations"] for r in results) / elapsed, sum(r["errors"] for r in results)


def imap_rate(binary, nodes, clients, seconds):
    results = [None] * len(nodes)

    def drive(index, node):
        results[index] = load(binary, "imap", "--port", str(node.imap_port), "--clients", str(clients // len(nodes)), "--seconds", str(seconds),
                              "--password", PASSWORD, *sum((["--user", u] for u in USERS), []))

    threads = [threading.Thread(target=drive, args=(i, n)) for i, n in enumerate(nodes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(r["per_second"] for r in results), sum(r["errors"] for r in results)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    binary = pathlib.Path(args.bin)
    rounds = 1 if args.quick else args.rounds
    messages = 400 if args.quick else 2000
    seconds = 10 if args.quick else 20

    started = subprocess.run([str(ROOT / "scripts/test-postgres"), "start"], capture_output=True, text=True, check=True)
    env = dict(re.findall(r"export (\w+)='([^']*)'", started.stdout))
    results = {}
    try:
        with tempfile.TemporaryDirectory(prefix="letterbox-stores-") as directory:
            root = pathlib.Path(directory)
            url = env["LETTERBOX_TEST_POSTGRES_URL"]
            subprocess.run(["psql", url, "-q", "-c", "CREATE DATABASE bench_stores"], check=True, capture_output=True)
            store = f'[store]\nbackend = "postgres"\nurl = "{url.replace("/letterbox?", "/bench_stores?")}"\npool_size = 20\n'
            setups = {
                "sqlite, 1 node": [make_node(root / "sqlite", binary)],
                "postgres, 1 node": [make_node(root / "pg1", binary, store)],
            }
            setups["postgres, 2 nodes"] = [setups["postgres, 1 node"][0], make_node(root / "pg2", binary, store, setup=False)]
            for round_number in range(rounds):
                for name, nodes in setups.items():
                    for node in nodes:
                        node.start()
                    for connections in (8, 32):
                        rate, errors = smtp_rate(binary, nodes, connections, messages)
                        results.setdefault(name, {}).setdefault(f"smtp_{connections}", []).append(rate)
                        results[name].setdefault(f"smtp_{connections}_errors", []).append(errors)
                    for clients in (10, 50):
                        rate, errors = imap_rate(binary, nodes, clients, seconds)
                        results[name].setdefault(f"imap_{clients}", []).append(rate)
                        results[name].setdefault(f"imap_{clients}_errors", []).append(errors)
                    for node in nodes:
                        node.stop()
                    print(f"round {round_number + 1}: {name} done", file=sys.stderr)
    finally:
        subprocess.run([str(ROOT / "scripts/test-postgres"), "stop", env["LETTERBOX_TEST_POSTGRES_DIR"]], check=False)

    medians = {name: {key: statistics.median(values) for key, values in rows.items()} for name, rows in results.items()}
    out = ROOT / "bench/results"
    out.mkdir(exist_ok=True)
    (out / "stores.json").write_text(json.dumps(medians, indent=2))
    base = medians["sqlite, 1 node"]
    lines = [f"Store comparison, {time.strftime('%Y-%m-%d')}, {rounds} round(s), medians; ratio = ÷ SQLite one node", "",
             "| setup | SMTP 8 conn msg/s | SMTP 32 conn msg/s | IMAP 10 clients ops/s | IMAP 50 clients ops/s |", "|---|---:|---:|---:|---:|"]
    for name, row in medians.items():
        cells = [f"{row[k]:.0f} ({row[k] / base[k]:.2f}×)" + (f", {row[k + '_errors']:.0f} errors" if row[k + "_errors"] else "")
                 for k in ("smtp_8", "smtp_32", "imap_10", "imap_50")]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    (out / "stores.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
