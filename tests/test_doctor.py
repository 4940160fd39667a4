"""`letterbox doctor` (issue 8) against a real server and a dnsmasq on loopback holding the records `letterbox dns` prints.

A good setup (CA-signed certificate for mail.doctor.test, the CA given as delivery.trust_roots) passes every check with exit
0; the same setup with Letterbox's self-signed certificate fails only the chain check. Broken setups — an expired certificate,
a missing DKIM record, auth.allow_cleartext = true, a wrong MX — are each detected with the right fix text.
(An open relay cannot be configured in Letterbox, so that check is only seen passing here.)
"""
import json
import os
import re
import subprocess

import pytest
from conftest import Server, free_dns_port, run, start_dnsmasq

DOMAIN, HOST = "doctor.test", "mail.doctor.test"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory):
    directory.mkdir(parents=True, exist_ok=True)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "30", "-subj", "/CN=Doctor Test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    (directory / "index.txt").write_text("")
    (directory / "serial").write_text("1000\n")
    return directory / "ca.pem"


def make_leaf(directory, name, start="", end=""):
    """A certificate for `name` signed by the CA in `directory`: 90 days from now, or from START to END (YYYYMMDDHHMMSSZ)."""
    (directory / f"{name}.cnf").write_text(f"""
[ca]
default_ca = test_ca
[test_ca]
dir = {directory}
database = {directory}/index.txt
new_certs_dir = {directory}
serial = {directory}/serial
default_md = sha256
policy = any
unique_subject = no
x509_extensions = leaf
default_days = 90
[any]
commonName = supplied
[leaf]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:{name}
""")
    stem = f"{name}-{start or 'now'}"
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f"{stem}.key",
            "-out", f"{stem}.csr", "-subj", f"/CN={name}", cwd=directory)
    dates = ["-startdate", start, "-enddate", end] if start else []
    openssl("ca", "-batch", "-notext", "-config", f"{name}.cnf", "-cert", "ca.pem", "-keyfile", "ca.key",
            "-in", f"{stem}.csr", "-out", f"{stem}.pem", *dates, cwd=directory)
    return directory / f"{stem}.pem", directory / f"{stem}.key"


ZONE = re.compile(r'^(\S+)\. 3600 IN (TXT|SRV|CNAME) (.*)$')


def dnsmasq_records(zone, skip=()):
    """dnsmasq lines for the TXT, SRV and CNAME records of a `letterbox dns --format zone` snippet (owners in `skip` left out)."""
    lines = []
    for line in zone.splitlines():
        match = ZONE.match(line)
        if not match or any(part in match.group(1) for part in skip):
            continue
        owner, kind, value = match.groups()
        if kind == "TXT":
            strings = re.findall(r'"((?:[^"\\]|\\.)*)"', value)
            lines.append(f"txt-record={owner}," + ",".join(f'"{s}"' for s in strings))
        elif kind == "SRV" and value != "0 0 0 .":
            priority, weight, port, target = value.split()
            lines.append(f"srv-host={owner},{target.rstrip('.')},{port},{priority},{weight}")
        elif kind == "CNAME":
            lines.append(f"cname={owner},{value.rstrip('.')}")
    return lines


class Setup:
    """A configuration file, a server started from it, dnsmasq with the domain's records, and `letterbox doctor`."""

    def __init__(self, tmp_path, cert=None, ca=None, cleartext=False, mx=HOST, skip_records=()):
        self.data_dir = tmp_path / "data"
        self.config = tmp_path / "letterbox.toml"
        dns_port = free_dns_port()
        tls = f'cert = "{cert[0]}"\nkey = "{cert[1]}"\n' if cert else ""
        listen = "\n".join(f'{service} = "127.0.0.1:0"' for service in ["smtp", "submission", "submissions", "imap", "imaps", "http"])
        self.config.write_text(f"""hostname = "{HOST}"
data_dir = "{self.data_dir}"
[listen]
{listen}
[tls]
{tls}[auth]
allow_cleartext = {"true" if cleartext else "false"}
[delivery]
trust_roots = "{ca or ''}"
[dns]
servers = ["127.0.0.1:{dns_port}"]
""")
        run("domain", "add", DOMAIN, "--config", str(self.config))
        zone = run("dns", DOMAIN, "--format", "zone", "--config", str(self.config)).stdout
        self.dns = start_dnsmasq(tmp_path, dns_port, [f"mx-host={DOMAIN},{mx},10", f"host-record={HOST},127.0.0.1",
                                                     *dnsmasq_records(zone, skip_records)])
        self.server = Server(self.data_dir, extra_args=["--config", str(self.config)])

    def doctor(self):
        result = run("doctor", "--config", str(self.config), "--json", check=False, timeout=120)
        checks = json.loads(result.stdout)
        return result.returncode, {check["name"]: check for check in checks}

    def stop(self):
        self.server.stop()
        self.dns.terminate()
        self.dns.wait()


@pytest.fixture
def setup(tmp_path):
    made = []

    def make(**options):
        made.append(Setup(tmp_path, **options))
        return made[-1]
    yield make
    for instance in made:
        instance.stop()


@pytest.fixture
def ca(tmp_path):
    return make_ca(tmp_path / "ca")


# CI runs these tests as root, and a server running as root fails doctor's "not running as root" check
# (test_privdrop.py tests that check); everything else about these setups is what is under test here.
AS_ROOT = os.geteuid() == 0


def failed(checks):
    return {name: check for name, check in checks.items()
            if not check["passed"] and check["required"] and not (AS_ROOT and name == "not running as root")}


def test_good_setup_passes_every_check(setup, ca):
    instance = setup(cert=make_leaf(ca.parent, HOST), ca=ca)
    status, checks = instance.doctor()
    assert failed(checks) == {}, json.dumps(failed(checks), indent=2)
    assert status == (1 if AS_ROOT else 0)
    for name in ["listen.smtp: not an open relay", "listen.submission: requires AUTH", "submission → IMAP loop",
                 f"{DOMAIN} MX", f"{DOMAIN} SPF", f"{DOMAIN} DMARC", f"{DOMAIN} MTA-STS", "certificate chain",
                 "forward and reverse DNS of 127.0.0.1", "listen.imap: no LOGIN or AUTH= before STARTTLS"]:
        assert checks[name]["passed"], name
    assert [name for name in checks if name.startswith(f"{DOMAIN} DKIM lb")], "one check per active DKIM selector"
    assert all(set(check) == {"name", "passed", "detail", "fix", "required"} for check in checks.values())
    assert all(check["fix"] is None for check in checks.values() if check["passed"])
    users = run("user", "list", "--config", str(instance.config)).stdout
    assert "doctor-" not in users, "the throwaway account is removed"


def test_the_readable_checklist_ends_with_a_summary(setup, ca):
    instance = setup(cert=make_leaf(ca.parent, HOST), ca=ca)
    result = run("doctor", "--config", str(instance.config), check=False, timeout=120)
    assert result.returncode == (1 if AS_ROOT else 0), result.stdout
    assert "✓ listen.smtp: not an open relay" in result.stdout
    assert "\x1b[" not in result.stdout, "no colour when stdout is not a terminal"
    if AS_ROOT:
        assert "✗ not running as root: " in result.stdout and re.search(r"\n1 of \d+ checks failed", result.stdout)
    else:
        assert re.search(r"all \d+ checks passed", result.stdout)


def test_self_signed_certificate_fails_only_the_chain_check(setup):
    instance = setup()
    status, checks = instance.doctor()
    assert status == 1
    assert list(failed(checks)) == ["certificate chain"]
    assert "set tls.cert/tls.key" in checks["certificate chain"]["fix"]


def test_expired_certificate(setup, ca):
    instance = setup(cert=make_leaf(ca.parent, HOST, "20200101000000Z", "20200401000000Z"), ca=ca)
    status, checks = instance.doctor()
    assert status == 1
    check = checks["certificate validity"]
    assert not check["passed"] and "expired" in check["detail"]
    assert "renew the certificate" in check["fix"] and "tls.cert" in check["fix"]


def test_missing_dkim_record(setup, ca):
    instance = setup(cert=make_leaf(ca.parent, HOST), ca=ca, skip_records=["._domainkey."])
    status, checks = instance.doctor()
    assert status == 1
    dkim = [check for name, check in checks.items() if name.startswith(f"{DOMAIN} DKIM")]
    assert len(dkim) == 2 and not any(check["passed"] for check in dkim)
    for check in dkim:
        assert "no DKIM record" in check["detail"]
        assert re.search(r"publish lb\w+\._domainkey\.doctor\.test\. TXT \"v=DKIM1; k=(rsa|ed25519); p=", check["fix"])
    assert set(failed(checks)) == {check["name"] for check in dkim}


def test_cleartext_authentication_allowed(setup, ca):
    instance = setup(cert=make_leaf(ca.parent, HOST), ca=ca, cleartext=True)
    status, checks = instance.doctor()
    assert status == 1
    for name in ["listen.smtp: no AUTH before STARTTLS", "listen.submission: no AUTH before STARTTLS",
                 "listen.imap: no LOGIN or AUTH= before STARTTLS"]:
        assert not checks[name]["passed"], name
        assert checks[name]["fix"] == "set auth.allow_cleartext = false"
    assert "AUTH=PLAIN" in checks["listen.imap: no LOGIN or AUTH= before STARTTLS"]["detail"]
    assert set(failed(checks)) == {"listen.smtp: no AUTH before STARTTLS", "listen.submission: no AUTH before STARTTLS",
                                   "listen.imap: no LOGIN or AUTH= before STARTTLS"}


def test_wrong_mx(setup, ca):
    instance = setup(cert=make_leaf(ca.parent, HOST), ca=ca, mx="mx.elsewhere.test")
    status, checks = instance.doctor()
    assert status == 1
    check = checks[f"{DOMAIN} MX"]
    assert "mx.elsewhere.test" in check["detail"]
    assert check["fix"].startswith(f"publish {DOMAIN}. MX 10 {HOST}.")
