"""Differential test: the MIME fixture corpus against Dovecot's ENVELOPE and BODYSTRUCTURE.

Each Tests/Fixtures/mime/NAME.eml has Tests/Fixtures/mime/golden/NAME.json holding the expected ENVELOPE and
BODYSTRUCTURE as JSON values (NIL = null, strings, numbers, lists). This test APPENDs every fixture to a private Dovecot
instance (see /work/shared/notes/reference-servers.md), FETCHes ENVELOPE and BODYSTRUCTURE and compares the parsed values
with the golden files; the Swift test MIMETests/GoldenCorpusTests compares Letterbox's output with the same files.
Values are compared, not wire encodings; media types, subtypes, encodings and parameter names compare case-insensitively.

MIME_GOLDEN_REGEN=1 rewrites the golden files from Dovecot's answers.
"""
import imaplib
import json
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "Fixtures" / "mime"
GOLDEN = FIXTURES / "golden"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dovecot():
    if shutil.which("dovecot") is None:
        subprocess.run(["apt-get", "install", "-y", "dovecot-imapd"], check=True, capture_output=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="lbx-dovecot-"))
    os.chmod(tmp, 0o755)
    port = _free_port()
    (tmp / "passwd").write_text("test:{PLAIN}secret::::::\n")
    (tmp / "home").mkdir()
    shutil.chown(tmp / "home", "mail", "mail")
    conf = tmp / "dovecot.conf"
    conf.write_text(f"""
instance_name = lbx-mime-{port}
base_dir = {tmp}/run
state_dir = {tmp}/state
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
log_path = {tmp}/dovecot.log
first_valid_uid = 8
last_valid_uid = 8
first_valid_gid = 8
last_valid_gid = 8
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {tmp}/passwd
}}
userdb {{
  driver = static
  args = uid=mail gid=mail home={tmp}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
""")
    subprocess.run(["dovecot", "-c", str(conf)], check=True)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    yield port
    subprocess.run(["doveadm", "-c", str(conf), "stop"], check=False)
    shutil.rmtree(tmp, ignore_errors=True)


def parse_imap(data: bytes):
    """Parses one IMAP value list (with literals) into Python values."""
    pos = 0

    def skip():
        nonlocal pos
        while pos < len(data) and data[pos] == 0x20:
            pos += 1

    def value():
        nonlocal pos
        skip()
        c = data[pos:pos + 1]
        if c == b"(":
            pos += 1
            out = []
            while True:
                skip()
                if data[pos:pos + 1] == b")":
                    pos += 1
                    return out
                out.append(value())
        if c == b'"':
            pos += 1
            buf = bytearray()
            while data[pos:pos + 1] != b'"':
                if data[pos:pos + 1] == b"\\":
                    pos += 1
                buf += data[pos:pos + 1]
                pos += 1
            pos += 1
            return buf.decode("utf-8", "replace")
        if c == b"{":
            end = data.index(b"}", pos)
            n = int(data[pos + 1:end].rstrip(b"+"))
            pos = end + 3
            s = data[pos:pos + n]
            pos += n
            return s.decode("utf-8", "replace")
        start = pos
        while pos < len(data) and data[pos:pos + 1] not in (b" ", b")", b"("):
            pos += 1
        atom = data[start:pos].decode()
        if atom.upper() == "NIL":
            return None
        return int(atom) if atom.isdigit() else atom

    return value()


def fetch_items(port, raw: bytes):
    imap = imaplib.IMAP4("127.0.0.1", port)
    imap.login("test", "secret")
    imap.select("INBOX")
    typ, _ = imap.append("INBOX", None, None, raw)
    assert typ == "OK"
    imap.select("INBOX")
    typ, count = imap.search(None, "ALL")
    last = count[0].split()[-1]
    typ, resp = imap.fetch(last, "(ENVELOPE BODYSTRUCTURE)")
    buf = b""
    for item in resp:
        if isinstance(item, tuple):
            buf += item[0] + b"\r\n" + item[1]
        else:
            buf += item
    imap.logout()
    items = parse_imap(buf[buf.index(b"("):])
    result = {}
    for i in range(0, len(items), 2):
        result[str(items[i]).lower()] = items[i + 1]
    return {"envelope": result["envelope"], "bodystructure": result["bodystructure"]}


def normalize(bs):
    """Lower-cases media types, subtypes, encodings, disposition values and parameter names of a BODYSTRUCTURE value."""
    if not isinstance(bs, list):
        return bs
    def params(p):
        if not isinstance(p, list):
            return p
        return [x.lower() if i % 2 == 0 and isinstance(x, str) else x for i, x in enumerate(p)]
    def disp(d):
        if not isinstance(d, list):
            return d
        return [d[0].lower() if isinstance(d[0], str) else d[0], params(d[1])]
    if bs and isinstance(bs[0], list):
        n = 0
        while n < len(bs) and isinstance(bs[n], list):
            n += 1
        parts = [normalize(x) for x in bs[:n]]
        rest = bs[n:]
        rest = [rest[0].lower()] + ([params(rest[1])] if len(rest) > 1 else []) + ([disp(rest[2])] if len(rest) > 2 else []) + rest[3:]
        return parts + rest
    out = list(bs)
    out[0], out[1] = out[0].lower(), out[1].lower()
    out[2] = params(out[2])
    out[5] = out[5].lower() if isinstance(out[5], str) else out[5]
    if out[0] == "message" and out[1] in ("rfc822", "global"):
        out[8] = normalize(out[8])
        ext = 10
    elif out[0] == "text":
        ext = 8
    else:
        ext = 7
    if len(out) > ext + 1:
        out[ext + 1] = disp(out[ext + 1])
    return out


FIXTURE_FILES = sorted(FIXTURES.glob("*.eml"))


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[p.stem for p in FIXTURE_FILES])
def test_fixture_matches_dovecot(dovecot, path):
    got = fetch_items(dovecot, path.read_bytes())
    golden = GOLDEN / (path.stem + ".json")
    if os.environ.get("MIME_GOLDEN_REGEN") == "1" or not golden.exists():
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n")
    expected = json.loads(golden.read_text())
    assert got["envelope"] == expected["envelope"]
    assert normalize(got["bodystructure"]) == normalize(expected["bodystructure"])


def search_from(port, user, password, messages, needles, tls=False):
    """APPENDs `messages` to a new mailbox and returns, per needle, the sorted message numbers SEARCH FROM finds."""
    if tls:
        import ssl
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        imap = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=context)
    else:
        imap = imaplib.IMAP4("127.0.0.1", port)
    imap.login(user, password)
    mailbox = f"FromForms{os.getpid()}{time.monotonic_ns()}"
    assert imap.create(mailbox)[0] == "OK"
    for raw in messages:
        assert imap.append(mailbox, None, None, raw)[0] == "OK"
    imap.select(mailbox)
    found = {}
    for needle in needles:
        typ, data = imap.search(None, "FROM", f'"{needle}"')
        assert typ == "OK", (needle, data)
        found[needle] = sorted(int(n) for n in data[0].split())
    imap.logout()
    return found


def test_search_from_forms_match_dovecot(dovecot, server):
    """SEARCH FROM with an address finds the same messages on Letterbox as on Dovecot, whatever the From field's form."""
    from test_imap_conformance import FROM_FORMS, from_message
    messages = [from_message(form, f"form{n}") for n, form in enumerate(FROM_FORMS)]
    messages.append(from_message(b"Dave <dave@example.org>", "other"))
    needles = ["carol@example.org", "CAROL@example.ORG", "carol@", "carol", "Carol Sender", "dave@example.org", "example.org"]
    expected = search_from(dovecot, "test", "secret", messages, needles)
    got = search_from(server.port("imaps"), "alice@example.test", "wonderland-42", messages, needles, tls=True)
    for needle in needles:
        assert (needle, got[needle]) == (needle, expected[needle])
