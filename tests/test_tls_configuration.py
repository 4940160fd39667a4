"""Every TLS listener checked from outside with Debian's testssl.sh (issue 15, section 5): implicit TLS on submissions and
imaps, STARTTLS on submission (smtp) and imap, all four at once.

The server gets a certificate from a private CA made here (the name and address testssl connects to, a CRL URI), and
testssl is given that CA, so the findings are about the TLS configuration, not about a self-signed test certificate.
Asserted: no SSLv2/SSLv3/TLS 1.0/TLS 1.1, TLS 1.2 offered, no cipher under 128 bits, nothing of severity HIGH or CRITICAL
(which covers CBC suites and LUCKY13, RC4, 3DES, export and NULL ciphers, a missing server cipher order, …).
"""
import concurrent.futures
import json
import os
import shutil
import subprocess
import time

import pytest
from conftest import Server, run

TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh")
PORTS = [("submissions", None), ("imaps", None), ("submission", "smtp"), ("imap", "imap")]


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificate(directory):
    """A private CA and a leaf for localhost / 127.0.0.1 signed by it: (ca.pem, leaf.pem, leaf.key)."""
    directory.mkdir(parents=True, exist_ok=True)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "365", "-subj", "/CN=Letterbox TLS Test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "leaf.key",
            "-out", "leaf.csr", "-subj", "/CN=localhost", cwd=directory)
    (directory / "leaf.ext").write_text(
        "basicConstraints = CA:FALSE\n"
        "keyUsage = critical, digitalSignature\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectAltName = DNS:localhost, IP:127.0.0.1\n"
        "crlDistributionPoints = URI:http://127.0.0.1/letterbox-test-ca.crl\n")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "90",
            "-sha256", "-extfile", "leaf.ext", "-out", "leaf.pem", cwd=directory)
    return directory / "ca.pem", directory / "leaf.pem", directory / "leaf.key"


@pytest.fixture
def tls_server(tmp_path):
    if TESTSSL is None:
        # scripts/install-test-deps installs it; only a machine where it cannot be installed skips.
        installed = subprocess.run(["apt-get", "install", "-y", "-qq", "testssl.sh"], capture_output=True)
        if installed.returncode != 0 or not shutil.which("testssl"):
            pytest.skip("testssl.sh is not installed and `apt-get install testssl.sh` failed: "
                        + installed.stderr.decode(errors="replace")[-300:])
    ca, cert, key = make_certificate(tmp_path / "pki")
    data_dir = tmp_path / "data"
    config = tmp_path / "letterbox.toml"
    config.write_text(f'hostname = "localhost"\ndata_dir = "{data_dir}"\n[tls]\ncert = "{cert}"\nkey = "{key}"\n')
    run("domain", "add", "example.test", "--config", str(config))
    instance = Server(data_dir, extra_args=["--config", str(config)])
    yield instance, ca
    instance.stop()


def run_testssl(port, starttls, ca, json_file):
    """Runs testssl against 127.0.0.1:PORT and returns (findings, seconds, output)."""
    args = [shutil.which("testssl") or TESTSSL, "--quiet", "--color", "0", "--warnings", "off", "--add-ca", str(ca),
            "--jsonfile", str(json_file), "--protocols", "--std", "--server-preference", "--server-defaults", "--vulnerable"]
    if starttls:
        args += ["-t", starttls]
    args.append(f"127.0.0.1:{port}")
    started = time.monotonic()
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, env={**os.environ, "TERM": "dumb"})
    elapsed = time.monotonic() - started
    try:
        findings = json.loads(json_file.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        raise AssertionError(f"testssl wrote no JSON for port {port} (exit {result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}")
    return findings, elapsed, result.stdout


def test_every_tls_listener_offers_only_modern_tls_with_aead_suites(tls_server, tmp_path):
    server, ca = tls_server
    jobs = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(PORTS)) as pool:
        for service, starttls in PORTS:
            jobs[service] = pool.submit(run_testssl, server.port(service), starttls, ca, tmp_path / f"{service}.json")
    problems = []
    for service, job in jobs.items():
        findings, elapsed, output = job.result()
        by_id = {finding["id"]: finding for finding in findings}
        print(f"{service}: testssl took {elapsed:.0f} s, {len(findings)} findings")
        for protocol in ["SSLv2", "SSLv3", "TLS1", "TLS1_1"]:
            finding = by_id.get(protocol)
            if finding is None or "not offered" not in finding["finding"]:
                problems.append(f"{service}: {protocol} {finding['finding'] if finding else 'not reported'}")
        if "offered" not in by_id.get("TLS1_2", {}).get("finding", "") or "not offered" in by_id["TLS1_2"]["finding"]:
            problems.append(f"{service}: TLS 1.2 {by_id.get('TLS1_2', {}).get('finding', 'not reported')}")
        for finding in findings:
            if finding["severity"] in ("HIGH", "CRITICAL"):
                problems.append(f"{service}: {finding['severity']} {finding['id']}: {finding['finding']}")
        # Cipher categories below 128 bits (testssl --std): NULL, aNULL, EXPORT, LOW (64/56 bit), 3DES (112 bit).
        for category in ["cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW", "cipherlist_3DES_IDEA"]:
            finding = by_id.get(category)
            if finding is None or "not offered" not in finding["finding"]:
                problems.append(f"{service}: {category} {finding['finding'] if finding else 'not reported'}")
        if by_id.get("LUCKY13") and "not vulnerable" not in by_id["LUCKY13"]["finding"]:
            problems.append(f"{service}: LUCKY13 {by_id['LUCKY13']['finding']}")
        if not findings and "Testing protocols" not in output:
            problems.append(f"{service}: testssl did not run:\n{output[-2000:]}")
    assert not problems, "\n".join(problems)
