"""The whole journey of a message across two hosts (issue 6): Letterbox A on 127.0.0.2:25 and Letterbox B on
127.0.0.3:25, with Debian's dnsmasq on loopback giving a.test and b.test their MX records. Runs as root (port 25).

1. A user of A submits (587, STARTTLS, AUTH) to a user of B; A relays it to B's MX over STARTTLS; the recipient reads
   it over IMAP on B with both hops in the Received headers.
2. B down: the message waits in A's queue with the reason; B back: it arrives; `queue list --history` shows it.
3. B refuses the recipient (550): the sender finds a DSN in their INBOX on A within seconds.
4. A killed with SIGKILL while 200 messages are queued: after the restart all 200 arrive at B exactly once.
"""
import email
import imaplib
import os
import re
import signal
import smtplib
import ssl

import pytest
from conftest import Server, free_dns_port, run, start_dnsmasq, wait_for

A_IP, B_IP = "127.0.0.2", "127.0.0.3"
PASSWORD = "wonderland-42"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="binds port 25 on 127.0.0.2/127.0.0.3 (run as root, as CI does)")


TXT = re.compile(r'^(\S+)\. 3600 IN TXT (.*)$')


def txt_records(zone):
    """dnsmasq txt-record lines for every TXT record of a `letterbox dns --format zone` snippet."""
    lines = []
    for line in zone.splitlines():
        match = TXT.match(line)
        if match:
            strings = re.findall(r'"((?:[^"\\]|\\.)*)"', match.group(2))
            lines.append(f"txt-record={match.group(1)}," + ",".join(f'"{s}"' for s in strings))
    return lines


def serve_test_zone(tmp_path, port, records):
    """dnsmasq on 127.0.0.1:PORT serving MX and A records for a.test and b.test plus `records`."""
    return start_dnsmasq(tmp_path, port, [
        "mx-host=a.test,mx.a.test,10", f"host-record=mx.a.test,{A_IP}",
        "mx-host=b.test,mx.b.test,10", f"host-record=mx.b.test,{B_IP}",
    ] + records)


class Host:
    """One Letterbox host: domain NAME.test, user alice@NAME.test (A) or bob@NAME.test (B), MX on IP:25."""

    def __init__(self, tmp_path, name, ip, dns_port, user):
        self.name, self.ip, self.user = name, ip, f"{user}@{name}.test"
        self.data_dir = tmp_path / name
        self.config = tmp_path / f"{name}.toml"
        self.config.write_text(
            f'hostname = "mx.{name}.test"\ndata_dir = "{self.data_dir}"\n'
            f'[dns]\nservers = ["127.0.0.1:{dns_port}"]\n'
            "[delivery]\nfirst_retry = 1\nmax_retry_interval = 2\ndelay_warning = 0\n")
        run("domain", "add", f"{name}.test", "--config", str(self.config))
        run("user", "add", self.user, "--password", PASSWORD, "--config", str(self.config))
        self.server = None

    def start(self):
        self.server = Server(self.data_dir, extra_args=["--config", str(self.config)], address=self.ip, ports={"smtp": 25})

    def stop(self, sig=signal.SIGTERM):
        if self.server:
            self.server.stop(sig)
            self.server = None

    def cli(self, *args):
        return run(*args, "--config", str(self.config)).stdout

    def submit(self, recipients, message):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP(self.ip, self.server.port("submission"), timeout=30) as smtp:
            smtp.starttls(context=context)
            smtp.login(self.user, PASSWORD)
            assert smtp.sendmail(self.user, recipients, message) == {}

    def inbox(self):
        """Every message in the user's INBOX, read over IMAP (STARTTLS + LOGIN)."""
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        client = imaplib.IMAP4(self.ip, self.server.port("imap"), timeout=30)
        try:
            client.starttls(ssl_context=context)
            client.login(self.user, PASSWORD)
            client.select("INBOX", readonly=True)
            _, data = client.uid("SEARCH", None, "ALL")
            messages = []
            for uid in data[0].split():
                _, fetched = client.uid("FETCH", uid, "(BODY.PEEK[])")
                messages.append(fetched[0][1])
            client.logout()
            return messages
        finally:
            client.shutdown() if client.state != "LOGOUT" else None


def message(sender, recipient, subject):
    return (f"From: {sender}\r\nTo: {recipient}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@a.test>\r\n\r\nHello from A.\r\n")


@pytest.fixture
def hosts(tmp_path):
    """Hosts A and B, with the records `letterbox dns` prints for each domain (SPF, DKIM, DMARC) in dnsmasq."""
    port = free_dns_port()
    a = Host(tmp_path, "a", A_IP, port, "alice")
    b = Host(tmp_path, "b", B_IP, port, "bob")
    records = txt_records(a.cli("dns", "a.test", "--format", "zone")) + txt_records(b.cli("dns", "b.test", "--format", "zone"))
    dns = serve_test_zone(tmp_path, port, records)
    try:
        a.start()
        b.start()
        yield a, b
    finally:
        a.stop()
        b.stop()
        dns.kill()
        dns.wait()


def test_submission_relay_over_starttls_and_imap_read(hosts):
    a, b = hosts
    a.submit(["bob@b.test"], message("alice@a.test", "bob@b.test", "first journey"))
    received = wait_for(lambda: b.inbox(), what="the message on B", timeout=30)
    parsed = email.message_from_bytes(received[0])
    assert parsed["Subject"] == "first journey"
    hops = parsed.get_all("Received")
    assert any("by mx.a.test" in hop and "ESMTPSA" in hop for hop in hops), hops   # submission on A, TLS + AUTH
    assert any("by mx.b.test" in hop and "ESMTPS" in hop and "mx.a.test" in hop for hop in hops), hops  # A → B over TLS
    assert parsed["Return-Path"] == "<alice@a.test>"
    # Signed by A (RSA and Ed25519), checked by B: every mechanism passes.
    assert len(parsed.get_all("DKIM-Signature")) == 2
    results = parsed["Authentication-Results"]
    assert results.startswith("mx.b.test"), results
    for expected in ("dkim=pass header.d=a.test", "spf=pass", "dmarc=pass"):
        assert expected in " ".join(results.split()), results
    wait_for(lambda: "the queue is empty" in a.cli("queue", "list"), what="A's queue to empty")
    history = a.cli("queue", "list", "--history")
    assert "bob@b.test  delivered" in history and "mx.b.test[127.0.0.3]" not in history.split("delivered")[0]


def test_message_waits_while_b_is_down_then_arrives(hosts):
    a, b = hosts
    b.stop()
    a.submit(["bob@b.test"], message("alice@a.test", "bob@b.test", "while down"))
    listing = wait_for(lambda: (lambda text: text if "attempts 1" in text or "attempts 2" in text else None)(a.cli("queue", "list")),
                       what="a failed attempt in A's queue", timeout=30)
    assert "bob@b.test  pending" in listing and "4.4.1" in listing and "127.0.0.3" in listing
    b.start()
    received = wait_for(lambda: b.inbox(), what="the message after B came back", timeout=30)
    assert email.message_from_bytes(received[0])["Subject"] == "while down"
    wait_for(lambda: "the queue is empty" in a.cli("queue", "list"), what="A's queue to empty")
    history = a.cli("queue", "list", "--history")
    assert "bob@b.test  deferred" in history and "bob@b.test  delivered" in history


def test_refused_recipient_bounces_to_the_sender(hosts):
    a, b = hosts
    a.submit(["nobody@b.test"], message("alice@a.test", "nobody@b.test", "to nobody"))
    bounces = wait_for(lambda: a.inbox(), what="a DSN in alice's INBOX", timeout=20)
    dsn = email.message_from_bytes(bounces[0])
    assert dsn["Return-Path"] == "<>"
    assert dsn.get_content_type() == "multipart/report" and dsn.get_param("report-type") == "delivery-status"
    text = bounces[0].decode()
    assert "Final-Recipient: rfc822; nobody@b.test" in text
    assert "Action: failed" in text and "Status: 5.1.1" in text
    assert "Diagnostic-Code: smtp; 550 5.1.1" in text and "Remote-MTA: dns; mx.b.test[127.0.0.3]" in text
    assert "Subject: to nobody" in text  # the original header, attached as text/rfc822-headers
    assert b.inbox() == []
    assert "the queue is empty" in a.cli("queue", "list")


def test_two_hundred_queued_messages_survive_sigkill_and_arrive_once(hosts):
    a, b = hosts
    b.stop()
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP(A_IP, a.server.port("submission"), timeout=60) as smtp:
        smtp.starttls(context=context)
        smtp.login("alice@a.test", PASSWORD)
        for n in range(200):
            smtp.sendmail("alice@a.test", ["bob@b.test"], message("alice@a.test", "bob@b.test", f"bulk {n}"))
    assert a.cli("queue", "list").count("bob@b.test  pending") == 200
    a.stop(signal.SIGKILL)
    b.start()
    a.start()
    wait_for(lambda: "the queue is empty" in a.cli("queue", "list"), what="A's queue to empty", timeout=120)
    subjects = [email.message_from_bytes(raw)["Subject"] for raw in b.inbox()]
    assert len(subjects) == 200
    assert sorted(subjects) == sorted(f"bulk {n}" for n in range(200))


def test_forged_from_of_a_sent_directly_to_b_is_rejected(hosts):
    a, b = hosts
    forged = message("alice@a.test", "bob@b.test", "forged")
    with smtplib.SMTP(B_IP, 25, timeout=30, source_address=("127.0.0.1", 0)) as smtp:
        smtp.ehlo("attacker.test")
        smtp.mail("alice@a.test")
        assert smtp.rcpt("bob@b.test")[0] == 250
        code, text = smtp.data(forged)
    assert code == 550 and b"5.7.1" in text and b"DMARC" in text
    assert b.inbox() == []


def test_authentication_results_from_outside_are_replaced(hosts):
    a, b = hosts
    spoofed = ("From: carol@elsewhere.test\r\nTo: bob@b.test\r\nSubject: claims\r\n"
               "Authentication-Results: mx.b.test; dkim=pass header.d=bank.test; spf=pass; dmarc=pass\r\n\r\nhi\r\n")
    with smtplib.SMTP(B_IP, 25, timeout=30, source_address=("127.0.0.1", 0)) as smtp:
        assert smtp.sendmail("carol@elsewhere.test", ["bob@b.test"], spoofed) == {}
    received = email.message_from_bytes(wait_for(lambda: b.inbox(), what="the message on B")[0])
    fields = received.get_all("Authentication-Results")
    assert len(fields) == 1 and "bank.test" not in fields[0] and "dkim=none" in fields[0], fields
