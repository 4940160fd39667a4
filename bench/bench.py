#!/usr/bin/env python3
"""Benchmarks Letterbox against Postfix + Dovecot (Debian packages) on this machine, in one run, each workload against
each server in turn, several rounds, reporting medians and the ratio Letterbox / peer. Called by bench/run, which
installs the peers and builds Letterbox in release mode. Durability stays on everywhere (fsync is never disabled).

Workloads (issue 9):
  1. SMTP inbound: messages/s accepted AND delivered into mailboxes, at 8 and 64 connections
     (Letterbox: 250 means stored; Postfix: until the last message is in Dovecot's Maildir via LMTP).
  2. IMAP mixed workload (letterbox-load imap): operations/s at 10 and 100 clients.
  3. Large mailbox: SELECT, FETCH 1:* (UID FLAGS), UID SEARCH TEXT latency.
  4. Idle scale: resident memory per authenticated IDLE connection.
  5. Start-up time and resident memory at rest.
"""
import argparse
import imaplib
import json
import os
import pathlib
import resource
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

USERS = [f"bench{n}@bench.test" for n in range(1, 11)]
PASSWORD = "bench-password-42"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"port {port} never opened")


def rss_kb(pids):
    total = 0
    for pid in pids:
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def pids_named(names):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                exe = os.readlink(f"/proc/{entry}/exe")
            except OSError:
                continue
            if any(name in exe for name in names):
                found.append(int(entry))
    return found


class Letterbox:
    def __init__(self, root, binary, extra="", setup=True, name="Letterbox"):
        """`extra` is appended to the configuration (e.g. a [store] section); `setup` adds the domain and the users
        (off for a second node on a shared database). A `name` other than "Letterbox" (a baseline build run in the
        same rounds) gets its own directory under `root`."""
        self.name = name
        if name != "Letterbox":
            root = root / name.lower().replace(" ", "-")
            root.mkdir(parents=True, exist_ok=True)
        self.root, self.binary = root / "letterbox", binary
        self.smtp_port, self.imap_port = free_port(), free_port()
        self.config = root / "letterbox.toml"
        self.config.write_text(
            f'hostname = "bench-letterbox.test"\ndata_dir = "{self.root}"\n'
            f'[listen]\nsmtp = "127.0.0.1:{self.smtp_port}"\nsubmission = ""\nsubmissions = ""\n'
            f'imap = "127.0.0.1:{self.imap_port}"\nimaps = ""\nhttp = ""\n'
            '[auth]\nallow_cleartext = true\n'
            # The peer runs no SPF/DKIM/DMARC milter, so neither does Letterbox here (like for like; they cost DNS lookups).
            '[mailauth]\ncheck_inbound = false\n'
            '[smtp]\nmax_connections = 20000\nmax_connections_per_ip = 20000\n'
            '[imap]\nmax_connections = 20000\nmax_connections_per_ip = 20000\nmax_connections_per_user = 20000\n'
            '[log]\nlevel = "warning"\n' + extra)
        if setup:
            self.run("domain", "add", "bench.test")
            for user in USERS + ["big@bench.test"]:
                self.run("user", "add", user, "--password", PASSWORD)
        self.process = None

    def run(self, *args):
        subprocess.run([str(self.binary / "letterbox"), *args, "--config", str(self.config)], check=True, capture_output=True)

    def start(self):
        started = time.monotonic()
        self.process = subprocess.Popen([str(self.binary / "letterbox"), "serve", "--config", str(self.config)],
                                        stdout=subprocess.DEVNULL, stderr=open(self.root.parent / "letterbox.err", "a"))
        wait_port(self.smtp_port)
        wait_port(self.imap_port)
        return time.monotonic() - started

    def pids(self):
        return [self.process.pid]

    def delivered(self):
        return None  # 250 means stored: nothing to wait for

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=60)


class PostfixDovecot:
    name = "Postfix+Dovecot"

    def __init__(self, root):
        self.root = root / "peer"
        self.smtp_port, self.imap_port = free_port(), free_port()
        d = self.root / "dovecot"
        for sub in ["run", "state", "home"]:
            (d / sub).mkdir(parents=True, exist_ok=True)
        shutil.chown(d / "home", "mail", "mail")
        for p in [root, self.root, d]:
            os.chmod(p, 0o755)
        (d / "users").write_text("".join(f"{u}:{{PLAIN}}{PASSWORD}\n" for u in USERS + ["big@bench.test"]))
        self.dovecot_conf = d / "dovecot.conf"
        self.dovecot_conf.write_text(f"""
instance_name = bench-dovecot
base_dir = {d}/run
state_dir = {d}/state
listen = 127.0.0.1
protocols = imap lmtp
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 8
last_valid_uid = 8
first_valid_gid = 8
last_valid_gid = 8
mail_location = maildir:~/Maildir
mail_max_userip_connections = 20000
log_path = {d}/dovecot.log
default_process_limit = 20000
default_client_limit = 40000
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid=mail gid=mail home={d}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  service_count = 0
  process_min_avail = 2
  client_limit = 20000
}}
service imap {{
  service_count = 100
  process_min_avail = 2
  process_limit = 20000
}}
service auth {{
  client_limit = 40000
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
""")
        p = self.root / "postfix"
        (p / "queue").mkdir(parents=True, exist_ok=True)
        (p / "data").mkdir(parents=True, exist_ok=True)
        shutil.chown(p / "data", "postfix", "postfix")
        master = open("/etc/postfix/master.cf").read().splitlines()
        master = [line for line in master if not line.startswith("smtp      inet")]
        # No chroot anywhere: the LMTP client must reach Dovecot's socket by its real path.
        master = [" ".join(f[:4] + ["n"] + f[5:]) if (f := line.split()) and len(f) >= 8 and not line[0].isspace() and not line.startswith("#")
                  else line for line in master]
        master.insert(0, f"127.0.0.1:{self.smtp_port} inet n - n - - smtpd")
        (p / "master.cf").write_text("\n".join(master) + "\n")
        (p / "main.cf").write_text(f"""
compatibility_level = 3.6
queue_directory = {p}/queue
data_directory = {p}/data
maillog_file = {p}/maillog
maillog_file_prefixes = /tmp, /var
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = bench-postfix.test
mydestination =
mynetworks =
virtual_mailbox_domains = bench.test
virtual_transport = lmtp:unix:{d}/run/lmtp
default_transport = discard:
relay_transport = discard:
smtpd_helo_required = yes
disable_vrfy_command = yes
smtpd_forbid_bare_newline = yes
message_size_limit = 52428800
default_process_limit = 200
smtpd_client_connection_count_limit = 0
""")
        self.postfix_dir = p

    def start(self):
        started = time.monotonic()
        subprocess.run(["dovecot", "-c", str(self.dovecot_conf)], check=True)
        subprocess.run(["postfix", "-c", str(self.postfix_dir), "start"], check=True, capture_output=True)
        wait_port(self.smtp_port)
        wait_port(self.imap_port)
        return time.monotonic() - started

    def pids(self):
        return pids_named(["/usr/lib/postfix", "/usr/sbin/dovecot", "/usr/lib/dovecot"])

    def fill_maildir(self, binary, user, per_connection):
        """The large mailbox without LMTP: Dovecot's delivery into one Maildir slowed to a few messages per second above
        85,000 messages (the dovecot-uidlist and index grow with every delivery). `letterbox-load maildir` writes the very
        messages `letterbox-load smtp` sends Letterbox; Dovecot indexes them at the first EXAMINE, before any timing."""
        home = self.root / "dovecot" / "home" / user
        subprocess.run([str(binary / "letterbox-load"), "maildir", "--directory", str(home / "Maildir"), "--connections", "8",
                        "--messages", str(per_connection), "--to", user], check=True, capture_output=True)
        subprocess.run(["chown", "-R", "mail:mail", str(home)], check=True)

    def maildir_count(self):
        total = 0
        for home in (self.root / "dovecot" / "home").glob("*"):
            for sub in ["new", "cur"]:
                folder = home / "Maildir" / sub
                if folder.exists():
                    total += len(os.listdir(folder))
        return total

    def delivered(self):
        return self.maildir_count()

    def stop(self):
        subprocess.run(["postfix", "-c", str(self.postfix_dir), "stop"], capture_output=True)
        subprocess.run(["doveadm", "-c", str(self.dovecot_conf), "stop"], capture_output=True)
        time.sleep(1)


def load(binary, *args):
    output = subprocess.run([str(binary / "letterbox-load"), *args, "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def smtp_inbound(binary, server, connections, total):
    before = server.delivered()
    started = time.monotonic()
    result = load(binary, "smtp", "--port", str(server.smtp_port), "--connections", str(connections),
                  "--messages", str(total // connections), *sum((["--to", u] for u in USERS), []))
    if before is not None:  # wait until every accepted message is in a mailbox
        target = before + result["operations"]
        while server.delivered() < target and time.monotonic() - started < 600:
            time.sleep(0.02)
    elapsed = time.monotonic() - started
    return result["operations"] / elapsed, result


def large_mailbox(binary, server, count):
    if hasattr(server, "fill_maildir"):  # the same messages, written straight into the peer's Maildir
        server.fill_maildir(binary, "big@bench.test", count // 8)
    else:
        load(binary, "smtp", "--port", str(server.smtp_port), "--connections", "8", "--messages", str(count // 8), "--to", "big@bench.test")
    if server.delivered() is not None:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            client = imaplib.IMAP4("127.0.0.1", server.imap_port)
            client.login("big@bench.test", PASSWORD)
            typ, data = client.select("INBOX", readonly=True)
            client.logout()
            if int(data[0]) >= count // 8 * 8:
                break
            time.sleep(1)
    timings = {"select": [], "fetch_flags": [], "search_text": []}
    for _ in range(3):
        client = imaplib.IMAP4("127.0.0.1", server.imap_port)
        client.login("big@bench.test", PASSWORD)
        t = time.monotonic(); client.select("INBOX"); timings["select"].append(time.monotonic() - t)
        t = time.monotonic(); client.uid("FETCH", "1:*", "(UID FLAGS)"); timings["fetch_flags"].append(time.monotonic() - t)
        t = time.monotonic(); client.uid("SEARCH", None, "TEXT", '"letterboxbench"'); timings["search_text"].append(time.monotonic() - t)
        client.logout()
    return {k: statistics.median(v) * 1000 for k, v in timings.items()}


def idle_memory(binary, server, connections):
    # A fresh start: memory freed by the earlier workloads stays in the allocator and would hide the growth.
    server.stop()
    server.start()
    time.sleep(2)
    before = rss_kb(server.pids())
    process = subprocess.Popen([str(binary / "letterbox-load"), "imap", "--port", str(server.imap_port), "--clients", str(connections),
                                "--seconds", "40", "--idle", "--password", PASSWORD, *sum((["--user", u] for u in USERS), []), "--json"],
                               stdout=subprocess.PIPE, text=True)
    time.sleep(30)  # connections log in and IDLE; measure while they all are
    during = rss_kb(server.pids())
    out, _ = process.communicate(timeout=300)  # letterbox-load itself gives up on stragglers 60 s after its end
    result = json.loads(out.strip().splitlines()[-1])
    return (during - before) / connections, result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes, one round (a smoke run)")
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--idle", type=int, default=10_000)
    parser.add_argument("--baseline-bin", help="a second Letterbox build (directory) run in the same rounds, e.g. before a change")
    parser.add_argument("--phases", default="startup,smtp,imap,large,idle",
                        help="comma-separated subset of startup,smtp,imap,large,idle (each run writes bench/results/partial.json as it goes)")
    args = parser.parse_args()
    phases = set(args.phases.split(","))
    if args.quick:
        args.rounds, args.large, args.idle = 1, 2_000, 500
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (200_000, 200_000))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if args.idle * 2 + 100 > limit:
        args.idle = max(100, (limit - 100) // 2)
        print(f"note: open-file limit {limit}: idle test reduced to {args.idle} connections")
    binary = pathlib.Path(args.bin)
    root = pathlib.Path(tempfile.mkdtemp(prefix="letterbox-bench-"))
    servers = [Letterbox(root, binary)]
    if args.baseline_bin:
        servers.append(Letterbox(root, pathlib.Path(args.baseline_bin), name="Letterbox before"))
    servers.append(PostfixDovecot(root))
    results = {s.name: {} for s in servers}

    partial = pathlib.Path("bench/results/partial.json")
    partial.parent.mkdir(parents=True, exist_ok=True)

    def record(server, key, value):
        results[server.name].setdefault(key, []).append(value)
        partial.write_text(json.dumps(results, indent=2))  # a failure later keeps what was measured

    try:
        for server in servers:
            started = server.start()
            if "startup" in phases:
                record(server, "startup_ms", started * 1000)
                time.sleep(2)
                record(server, "rss_at_rest_kb", rss_kb(server.pids()))
        for round_number in range(args.rounds if phases & {"smtp", "imap"} else 0):
            for server in servers:  # alternate A/B inside each round: the machine is shared and noisy
                for connections in (8, 64) if "smtp" in phases else ():
                    rate, _ = smtp_inbound(binary, server, connections, 2_000 if not args.quick else 400)
                    record(server, f"smtp_{connections}_msgs_per_s", rate)
                for clients in (10, 100) if "imap" in phases else ():
                    result = load(binary, "imap", "--port", str(server.imap_port), "--clients", str(clients), "--seconds", "20",
                                  "--password", PASSWORD, *sum((["--user", u] for u in USERS), []))
                    record(server, f"imap_{clients}_ops_per_s", result["per_second"])
                    record(server, f"imap_{clients}_errors", result["errors"])
        for server in servers:
            if "large" in phases:
                for key, value in large_mailbox(binary, server, args.large).items():
                    record(server, f"large_{key}_ms", value)
            if "idle" in phases:
                per_connection, result = idle_memory(binary, server, args.idle)
                record(server, "idle_kb_per_connection", per_connection)
                record(server, "idle_errors", result["errors"])
    finally:
        for server in servers:
            try:
                server.stop()
            except Exception as error:  # keep stopping the others
                print(f"stopping {server.name}: {error}")
    medians = {name: {k: statistics.median(v) for k, v in values.items()} for name, values in results.items()}
    out = pathlib.Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps({"raw": results, "median": medians, "rounds": args.rounds,
                                                 "large": args.large, "idle": args.idle}, indent=2))
    names = [server.name for server in servers]
    header = "| workload | " + " | ".join(names) + " | Letterbox ÷ peer |" + (" Letterbox ÷ before |" if args.baseline_bin else "")
    lines = [header, "|---|" + "---:|" * (len(names) + 1 + (1 if args.baseline_bin else 0))]

    def cell(value):
        return "–" if value is None else f"{value:,.1f}"

    for key in medians["Letterbox"]:
        values = [medians[name].get(key) for name in names]
        a, peer = medians["Letterbox"][key], medians["Postfix+Dovecot"].get(key)
        row = f"| {key} | " + " | ".join(cell(v) for v in values) + f" | {f'{a / peer:.2f}' if peer else '–'} |"
        if args.baseline_bin:
            before = medians["Letterbox before"].get(key)
            row += f" {f'{a / before:.2f}' if before else '–'} |"
        lines.append(row)
    table = "\n".join(lines)
    (out / "latest.md").write_text(table + "\n")
    print(table)
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
