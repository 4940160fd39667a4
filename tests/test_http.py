"""Interop tests of the HTTP server (issue 8): client autoconfiguration (Thunderbird autoconfig, Outlook autodiscover,
Apple .mobileconfig), the MTA-STS policy and /metrics, fetched from the real `letterbox serve` with urllib and curl and
checked against the live listeners (the ports in DATA_DIR/run/listeners.json)."""
import imaplib
import plistlib
import re
import shutil
import socket
import smtplib
import ssl
import subprocess
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import Server, run

ALICE = "alice@example.test"
PASSWORD = "wonderland-42"
HOST = "127.0.0.1"
SCHEMA = Path(__file__).resolve().parent / "schemas" / "autoconfig.rng"
AUTODISCOVER_REQUEST = b"""<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>alice@example.test</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>
"""
OUTLOOK_NS = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"


def fetch(server, path, method="GET", body=None, headers=None):
    """(status, headers, body bytes) of one request to the HTTP listener; HTTP errors are answers, not exceptions."""
    url = f"http://{HOST}:{server.port('http')}{path}"
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def no_verify():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def thunderbird_servers(document):
    """[(element, type, hostname, port, socketType, [authentication], username)] in document order."""
    provider = ET.fromstring(document).find("emailProvider")
    return [(s.tag, s.get("type"), s.findtext("hostname"), int(s.findtext("port")), s.findtext("socketType"),
             [a.text for a in s.findall("authentication")], s.findtext("username"))
            for s in provider if s.tag in ("incomingServer", "outgoingServer")]


def test_thunderbird_autoconfig_lists_the_live_ports_implicit_tls_first(server):
    status, headers, body = fetch(server, f"/mail/config-v1.1.xml?emailaddress={ALICE}")
    assert status == 200 and headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(body)
    assert root.tag == "clientConfig" and root.get("version") == "1.1"
    assert root.find("emailProvider").get("id") == "example.test"
    assert [d.text for d in root.find("emailProvider").findall("domain")] == ["example.test"]
    hostname = root.find("emailProvider/incomingServer/hostname").text
    auth, user = ["password-cleartext"], "%EMAILADDRESS%"
    assert thunderbird_servers(body) == [
        ("incomingServer", "imap", hostname, server.port("imaps"), "SSL", auth, user),
        ("incomingServer", "imap", hostname, server.port("imap"), "STARTTLS", auth, user),
        ("outgoingServer", "smtp", hostname, server.port("submissions"), "SSL", auth, user),
        ("outgoingServer", "smtp", hostname, server.port("submission"), "STARTTLS", auth, user),
    ]
    assert b"plain" not in body.lower().replace(b"password-cleartext", b"")


def test_thunderbird_well_known_url_with_curl_and_the_ports_really_speak_tls(server):
    url = f"http://{HOST}:{server.port('http')}/.well-known/autoconfig/mail/config-v1.1.xml"
    result = subprocess.run(["curl", "-sS", "--fail", "-H", "Host: example.test", url], capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    servers = thunderbird_servers(result.stdout)
    assert len(servers) == 4
    # What the document says is what the listeners do: SSL ports answer a TLS handshake, STARTTLS ones a greeting.
    for element, kind, _, port, socket_type, _, _ in servers:
        if kind == "imap" and socket_type == "SSL":
            client = imaplib.IMAP4_SSL(HOST, port, ssl_context=no_verify())
            assert "AUTH=PLAIN" in client.capabilities
            client.logout()
        elif kind == "imap":
            client = imaplib.IMAP4(HOST, port)
            assert "STARTTLS" in client.capabilities
            client.logout()
        elif socket_type == "SSL":
            with smtplib.SMTP_SSL(HOST, port, context=no_verify(), timeout=30) as smtp:
                assert smtp.ehlo()[0] == 250 and smtp.has_extn("auth")
        else:
            with smtplib.SMTP(HOST, port, timeout=30) as smtp:
                smtp.ehlo()
                assert smtp.has_extn("starttls") and not smtp.has_extn("auth")


@pytest.mark.skipif(shutil.which("xmllint") is None, reason="xmllint (Debian libxml2-utils) is not installed")
def test_autoconfig_validates_against_the_relax_ng_schema(server, tmp_path):
    for path in [f"/mail/config-v1.1.xml?emailaddress={ALICE}", "/.well-known/autoconfig/mail/config-v1.1.xml"]:
        status, _, body = fetch(server, path)
        assert status == 200
        document = tmp_path / "config.xml"
        document.write_bytes(body)
        result = subprocess.run(["xmllint", "--noout", "--relaxng", str(SCHEMA), str(document)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_unknown_domains_get_404(server):
    assert fetch(server, "/mail/config-v1.1.xml?emailaddress=alice@elsewhere.test")[0] == 404
    assert fetch(server, "/apple/mail.mobileconfig?emailaddress=alice@elsewhere.test")[0] == 404
    other = AUTODISCOVER_REQUEST.replace(b"alice@example.test", b"alice@elsewhere.test")
    assert fetch(server, "/autodiscover/autodiscover.xml", "POST", other, {"Content-Type": "text/xml"})[0] == 404


def test_domains_added_while_running_are_served(server):
    run("domain", "add", "later.test", "--data-dir", str(server.data_dir))
    status, _, body = fetch(server, "/mail/config-v1.1.xml?emailaddress=bob@later.test")
    assert status == 200
    assert ET.fromstring(body).find("emailProvider").get("id") == "later.test"


@pytest.mark.parametrize("path", ["/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"])
def test_outlook_autodiscover(server, path):
    status, headers, body = fetch(server, path, "POST", AUTODISCOVER_REQUEST, {"Content-Type": "text/xml; charset=utf-8"})
    assert status == 200 and "xml" in headers["Content-Type"]
    root = ET.fromstring(body)
    assert root.tag == "{http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006}Autodiscover"
    account = root.find(f"{OUTLOOK_NS}Response/{OUTLOOK_NS}Account")
    assert account.findtext(f"{OUTLOOK_NS}AccountType") == "email"
    assert account.findtext(f"{OUTLOOK_NS}Action") == "settings"
    protocols = {p.findtext(f"{OUTLOOK_NS}Type"): p for p in account.findall(f"{OUTLOOK_NS}Protocol")}
    assert sorted(protocols) == ["IMAP", "SMTP"]
    for kind, service in [("IMAP", "imaps"), ("SMTP", "submissions")]:
        p = protocols[kind]
        assert int(p.findtext(f"{OUTLOOK_NS}Port")) == server.port(service)
        assert p.findtext(f"{OUTLOOK_NS}SSL") == "on"
        assert p.findtext(f"{OUTLOOK_NS}Encryption") == "SSL"
        assert p.findtext(f"{OUTLOOK_NS}LoginName") == ALICE
        assert p.findtext(f"{OUTLOOK_NS}Server")


HUGE = b"<x>" + b"A" * (1 << 20) + b"</x>"


@pytest.mark.parametrize("body,status", [
    (b"<Autodiscover><Request><EMailAddress>", 400),
    (b"\x00\xff\xfe garbage", 400),
    (b"<Autodiscover><Request/></Autodiscover>", 400),
    (HUGE, 413),
], ids=["truncated", "binary", "no-address", "one-megabyte"])
def test_bad_autodiscover_requests_are_refused_not_crashed(server, body, status):
    assert fetch(server, "/autodiscover/autodiscover.xml", "POST", body, {"Content-Type": "text/xml"})[0] == status
    # The server is still there.
    assert fetch(server, "/mail/config-v1.1.xml")[0] == 200


def test_apple_mobileconfig(server):
    status, headers, body = fetch(server, f"/apple/mail.mobileconfig?emailaddress={ALICE}")
    assert status == 200
    assert headers["Content-Type"] == "application/x-apple-aspen-config"
    profile = plistlib.loads(body)
    assert profile["PayloadType"] == "Configuration"
    (mail,) = profile["PayloadContent"]
    assert mail["PayloadType"] == "com.apple.mail.managed"
    assert mail["EmailAddress"] == ALICE
    assert mail["IncomingMailServerPortNumber"] == server.port("imaps")
    assert mail["OutgoingMailServerPortNumber"] == server.port("submissions")
    assert mail["IncomingMailServerUseSSL"] is True and mail["OutgoingMailServerUseSSL"] is True
    assert mail["IncomingMailServerUsername"] == ALICE
    assert fetch(server, "/apple/mail.mobileconfig")[0] == 400


def test_mta_sts_policy_for_the_mta_sts_host_only(server):
    status, headers, body = fetch(server, "/.well-known/mta-sts.txt", headers={"Host": "mta-sts.example.test"})
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    lines = body.decode().split("\r\n")
    assert lines[0] == "version: STSv1"
    assert "mode: testing" in lines
    assert any(line.startswith("mx: ") for line in lines)
    assert "max_age: 604800" in lines and lines[-1] == ""
    assert fetch(server, "/.well-known/mta-sts.txt", headers={"Host": "mta-sts.elsewhere.test"})[0] == 404
    assert fetch(server, "/.well-known/mta-sts.txt", headers={"Host": "example.test"})[0] == 404


def parse_prometheus(text):
    """{(name, frozenset(labels)): value} from the Prometheus text format (# lines skipped)."""
    samples = {}
    pattern = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = pattern.match(line)
        assert match, f"not a Prometheus sample line: {line!r}"
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def metric(samples, name, **labels):
    return sum(value for (n, l), value in samples.items() if n == name and set(labels.items()) <= l)


def test_metrics_move_after_smtp_and_imap_traffic(server):
    status, headers, body = fetch(server, "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    before = parse_prometheus(body.decode())
    with smtplib.SMTP(HOST, server.port("smtp"), timeout=30) as smtp:
        smtp.starttls(context=no_verify())
        smtp.sendmail("bob@remote.test", [ALICE], b"From: bob@remote.test\r\nSubject: metrics\r\n\r\nhi\r\n")
    with smtplib.SMTP_SSL(HOST, server.port("submissions"), context=no_verify(), timeout=30) as smtp:
        smtp.login(ALICE, PASSWORD)
        smtp.sendmail(ALICE, ["carol@remote.test"], b"From: alice@example.test\r\nSubject: out\r\n\r\nhi\r\n")
    client = imaplib.IMAP4_SSL(HOST, server.port("imaps"), ssl_context=no_verify())
    client.login(ALICE, PASSWORD)
    client.select("INBOX")
    client.logout()
    after = parse_prometheus(fetch(server, "/metrics")[2].decode())
    for listener in ["smtp", "submissions", "imaps"]:
        assert metric(after, "letterbox_connections_accepted_total", listener=listener) >= \
            metric(before, "letterbox_connections_accepted_total", listener=listener) + 1, listener
    assert metric(after, "letterbox_tls_handshakes_total") >= metric(before, "letterbox_tls_handshakes_total") + 2
    assert any(n == "letterbox_tls_handshakes_total" and ("version", "tls1.3") in l for (n, l) in after)
    assert metric(after, "letterbox_messages_queued_total") >= metric(before, "letterbox_messages_queued_total") + 1
    assert metric(after, "letterbox_store_operation_duration_seconds_count", operation="queue.enqueue") >= 1
    # The remote message is queued (or already being retried): the gauge counts it until it leaves the queue.
    assert metric(after, "letterbox_queue_messages") >= 1
    assert ("letterbox_queue_oldest_age_seconds", frozenset()) in after
    assert metric(after, "letterbox_http_requests_total", route="/metrics", status="200") >= 1
    # The shared authenticator counts logins per protocol; each protocol counts its commands by verb and result.
    assert metric(after, "letterbox_auth_successes_total", protocol="smtp") >= 1
    assert metric(after, "letterbox_auth_successes_total", protocol="imap") >= 1
    assert metric(after, "letterbox_commands_total", protocol="imap", command="SELECT", result="ok") >= 1
    assert metric(after, "letterbox_commands_total", protocol="smtp", command="MAIL", result="2xx") >= 2


def test_metrics_refused_outside_the_allow_list(data_dir, tmp_path):
    config = tmp_path / "letterbox.toml"
    config.write_text('[http]\nmetrics_allow = ["192.0.2.0/24"]\n')
    instance = Server(data_dir, extra_args=["--config", str(config)])
    try:
        assert fetch(instance, "/metrics")[0] == 403
        assert fetch(instance, "/mail/config-v1.1.xml")[0] == 200
    finally:
        instance.stop()


def test_http_port_in_use_is_refused_naming_the_key(data_dir):
    blocker = socket.socket()
    blocker.bind((HOST, 0))
    blocker.listen()
    try:
        port = blocker.getsockname()[1]
        args = ["serve", "--data-dir", str(data_dir)] + [f"--{s}={HOST}:0" for s in ["smtp", "submission", "submissions", "imap", "imaps"]]
        result = run(*args, f"--http={HOST}:{port}", check=False)
        assert result.returncode != 0
        assert f"listen.http = {HOST}:{port}: address already in use" in result.stderr
    finally:
        blocker.close()
