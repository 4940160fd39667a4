"""SMTP policy from configuration and the directory (issue 4): <Postmaster> (RFC 5321 §4.5.1), quotas ("full
mailbox" is a temporary 452 4.2.2, never a loss), and limits set in the TOML configuration."""
import smtplib

from conftest import Server, run
from test_smtp import ALICE, HOST, message, stored_messages


def test_postmaster_is_accepted_and_reaches_the_postmaster_alias(server):
    with smtplib.SMTP(HOST, server.port("smtp"), timeout=30) as smtp:
        smtp.ehlo("client.test")
        smtp.mail("bob@remote.test")
        # No postmaster account or alias yet: nobody could read it, so it is refused like any unknown user.
        code, text = smtp.rcpt("<Postmaster>")
        assert code == 550 and b"5.1.1" in text
    run("alias", "add", "postmaster@example.test", ALICE, "--data-dir", str(server.data_dir))
    sent = message("to the postmaster")
    with smtplib.SMTP(HOST, server.port("smtp"), timeout=30) as smtp:
        smtp.ehlo("client.test")
        smtp.mail("bob@remote.test")
        # <Postmaster> names the postmaster of our host name, which is not a mail domain here: it still arrives.
        assert smtp.rcpt("<Postmaster>")[0] == 250
        assert smtp.rcpt("POSTMASTER@example.test")[0] == 250
        assert smtp.data(sent)[0] == 250
    stored = stored_messages(server)
    assert len(stored) == 1 and stored[0].endswith(sent)


def test_configured_postmaster(data_dir, tmp_path):
    run("domain", "add", "example.test", "--data-dir", str(data_dir))
    run("user", "add", "alice@example.test", "--password", "wonderland-42", "--data-dir", str(data_dir))
    config = tmp_path / "letterbox.toml"
    config.write_text(f'data_dir = "{data_dir}"\n[smtp]\npostmaster = "alice@example.test"\n')
    server = Server(data_dir, extra_args=["--config", str(config)])
    try:
        with smtplib.SMTP(HOST, server.port("smtp"), timeout=30) as smtp:
            assert smtp.sendmail("bob@remote.test", ["<Postmaster>"], message("configured postmaster")) == {}
        assert len(stored_messages(server)) == 1
    finally:
        server.stop()


def test_full_mailbox_defers_with_452_and_loses_nothing(server):
    big = message("big", body=("x" * 98 + "\r\n") * 30)
    run("user", "quota", ALICE, "2K", "--data-dir", str(server.data_dir))
    with smtplib.SMTP(HOST, server.port("smtp"), timeout=30) as smtp:
        smtp.ehlo("client.test")
        smtp.mail("bob@remote.test")
        assert smtp.rcpt(ALICE)[0] == 250  # empty mailbox: there is room for something
        code, text = smtp.data(big)
        assert code == 452 and b"4.2.2" in text
    assert stored_messages(server) == []
    run("user", "quota", ALICE, "4K", "--data-dir", str(server.data_dir))
    with smtplib.SMTP(HOST, server.port("smtp"), timeout=30) as smtp:
        assert smtp.sendmail("bob@remote.test", [ALICE], big) == {}
        # Now the mailbox is over 2K of 4K used; a declared size that cannot fit is refused at RCPT.
        smtp.ehlo("client.test")
        smtp.mail("bob@remote.test", ["SIZE=3500"])
        code, text = smtp.rcpt(ALICE)
        assert code == 452 and b"4.2.2" in text
    report = run("user", "quota", ALICE, "--data-dir", str(server.data_dir)).stdout
    assert "of 4096 octets" in report and "octets used" in report
    run("user", "quota", ALICE, "unlimited", "--data-dir", str(server.data_dir))
    with smtplib.SMTP(HOST, server.port("smtp"), timeout=30) as smtp:
        assert smtp.sendmail("bob@remote.test", [ALICE], big) == {}
    assert len(stored_messages(server)) == 2
    assert "unlimited" in run("user", "quota", ALICE, "--data-dir", str(server.data_dir)).stdout


def test_default_quota_from_configuration(data_dir, tmp_path):
    run("domain", "add", "example.test", "--data-dir", str(data_dir))
    run("user", "add", "alice@example.test", "--password", "wonderland-42", "--data-dir", str(data_dir))
    config = tmp_path / "letterbox.toml"
    config.write_text(f'data_dir = "{data_dir}"\n[quota]\ndefault = "1K"\n')
    server = Server(data_dir, extra_args=["--config", str(config)])
    try:
        with smtplib.SMTP(HOST, server.port("smtp"), timeout=30) as smtp:
            smtp.ehlo("client.test")
            smtp.mail("bob@remote.test")
            smtp.rcpt(ALICE)
            assert smtp.data(message("too big", body=("y" * 98 + "\r\n") * 20))[0] == 452
        assert "of 1024 octets (default)" in run("user", "quota", ALICE, "--config", str(config)).stdout
    finally:
        server.stop()


def test_limits_from_configuration(data_dir, tmp_path):
    run("domain", "add", "example.test", "--data-dir", str(data_dir))
    run("user", "add", "alice@example.test", "--password", "wonderland-42", "--data-dir", str(data_dir))
    config = tmp_path / "letterbox.toml"
    config.write_text(f'data_dir = "{data_dir}"\n[smtp]\nmax_message_size = "10K"\nmax_recipients = 3\n')
    server = Server(data_dir, extra_args=["--config", str(config)])
    try:
        with smtplib.SMTP(HOST, server.port("smtp"), timeout=30) as smtp:
            code, text = smtp.ehlo("client.test")
            assert b"SIZE 10240" in text
            smtp.mail("bob@remote.test")
            assert [smtp.rcpt(f"alice+{n}@example.test")[0] for n in range(4)] == [250, 250, 250, 452]
            code, _ = smtp.data(message("eleven K", body=("z" * 98 + "\r\n") * 110))
            assert code == 552
    finally:
        server.stop()


def test_bad_limit_in_configuration_names_the_key(data_dir, tmp_path):
    config = tmp_path / "letterbox.toml"
    config.write_text(f'data_dir = "{data_dir}"\n[imap]\nidle_timeout = 60\n')
    result = run("serve", "--config", str(config), check=False)
    assert result.returncode != 0
    assert "imap.idle_timeout = 60: must be between 1800 and 86400" in result.stderr
