@testable import MIME

/// Joins lines with CRLF (and ends with CRLF), so test messages read like the wire.
func crlf(_ lines: String...) -> [UInt8] { Array(lines.joined(separator: "\r\n").utf8) + [0x0D, 0x0A] }

func text(_ bytes: [UInt8]?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

let sampleMultipart = crlf(
    "From: Alice <alice@example.com>",
    "To: Bob <bob@example.org>, carol@example.net",
    "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= and more",
    "Date: Fri, 21 Nov 1997 09:55:06 -0600",
    "Message-ID: <1@example.com>",
    "MIME-Version: 1.0",
    "Content-Type: multipart/mixed; boundary=\"outer\"",
    "",
    "This is the preamble.",
    "--outer",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    "Hello =C3=A9t=C3=A9",
    "second line",
    "--outer",
    "Content-Type: multipart/alternative; boundary=inner",
    "",
    "--inner",
    "Content-Type: text/plain",
    "",
    "plain",
    "--inner",
    "Content-Type: text/html",
    "",
    "<p>html</p>",
    "--inner--",
    "--outer",
    "Content-Type: application/pdf; name=\"doc.pdf\"",
    "Content-Disposition: attachment; filename=\"doc.pdf\"",
    "Content-Transfer-Encoding: base64",
    "",
    "JVBERi0xLjQK",
    "--outer--",
    "epilogue"
)
