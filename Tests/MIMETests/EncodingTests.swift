import Testing
@testable import MIME

struct EncodedWordTests {
    static let cases: [(String, String)] = [
        ("=?utf-8?q?Gr=C3=BC=C3=9Fe?= and more", "Grüße and more"),
        ("=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"),
        ("=?utf-8?B?w6k=?= =?utf-8?B?w6k=?=", "éé"),                      // whitespace between words dropped
        ("=?utf-8?B?4oI=?= =?utf-8?B?rA==?=", "€"),                        // character split across words
        ("=?utf-8?q?a_b?=  c", "a b  c"),
        ("=?broken?X?junk?= plain", "=?broken?X?junk?= plain"),            // malformed left as is
        ("=?utf-8?q?no end", "=?utf-8?q?no end"),
        ("=?koi8-r?B?9MXT1A==?=", "Тест"),
        ("=?windows-1251?B?0e/g7A==?=", "Спам"),
        ("=?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=", "こんにちは"),
        ("=?GB2312?B?xOO6ww==?=", "你好"),
        ("=?EUC-KR?B?x9Gx2w==?=", "한글"),
        ("=?utf-8*en?q?lang?=", "lang"),
    ]

    @Test(arguments: cases)
    func decodes(input: String, expected: String) {
        #expect(EncodedWords.decode(input) == expected)
    }

    @Test(arguments: ["plain", "Grüße aus Köln", String(repeating: "日本語のテキスト", count: 10)])
    func encodeRoundTrips(text: String) {
        let encoded = EncodedWords.encode(text)
        #expect(encoded.utf8.allSatisfy { $0 < 0x80 })
        #expect(EncodedWords.decode(encoded) == text)
    }
}

struct CharsetTests {
    static let cases: [(String, [UInt8], String)] = [
        ("utf-8", [0xC3, 0xA9], "é"),
        ("ISO-8859-1", [0xE9], "é"),
        ("iso-8859-2", [0xB1], "ą"),
        ("iso-8859-5", [0xC0], "Р"),
        ("ISO-8859-7", [0xE1], "α"),
        ("iso-8859-15", [0xA4], "€"),
        ("windows-1252", [0x80], "€"),
        ("cp1251", [0xCF], "П"),
        ("windows-1256", [0xC7], "ا"),
        ("koi8-u", [0xA4], "є"),
        ("shift_jis", [0x82, 0xB1, 0x82, 0xF1], "こん"),
        ("euc-jp", [0xA4, 0xB3, 0xA4, 0xF3], "こん"),
        ("gbk", [0xC4, 0xE3], "你"),
        ("x-unknown", [0xC3, 0xA9], "é"),          // unknown: valid UTF-8 stays UTF-8
        ("x-unknown", [0xE9], "é"),                // else Windows-1252
        ("us-ascii", [0x41], "A"),
    ]

    @Test(arguments: cases)
    func decodes(charset: String, bytes: [UInt8], expected: String) {
        #expect(Charset.decode(bytes, charset: charset) == expected)
    }

    @Test func supportedList() {
        let names = ["utf-8", "us-ascii", "gb2312", "gbk", "gb18030", "big5", "shift_jis", "euc-jp", "iso-2022-jp", "euc-kr",
                     "koi8-r", "koi8-u"] + (1...16).filter({ $0 != 12 }).map({ "iso-8859-\($0)" }) + (1250...1258).map({ "windows-\($0)" })
        for name in names {
            #expect(Charset.isSupported(name), "\(name)")
        }
    }
}

struct TransferEncodingTests {
    @Test func base64Tolerant() {
        #expect(TransferEncoding.decodeBase64(Array("SGVs\r\nbG8=".utf8)) == Array("Hello".utf8))
        #expect(TransferEncoding.decodeBase64(Array("SGV!!sbG8\n#garbage".utf8)).starts(with: Array("Hello".utf8)))
        #expect(TransferEncoding.decodeBase64(Array("SGVsbG8gd29ybGQ".utf8)) == Array("Hello world".utf8))
    }

    @Test func quotedPrintable() {
        #expect(TransferEncoding.decodeQuotedPrintable(Array("a=3Db=\r\nc  \r\nd=ZZ".utf8)) == Array("a=bc\r\nd=ZZ".utf8))
        let text = Array((String(repeating: "x", count: 100) + " é=\r\nend ").utf8)
        #expect(TransferEncoding.decodeQuotedPrintable(TransferEncoding.encodeQuotedPrintable(text)) == text)
    }

    @Test func base64RoundTrip() {
        for n in 0..<70 {
            let data = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37) }
            #expect(TransferEncoding.decodeBase64(TransferEncoding.encodeBase64(data)) == data)
        }
    }
}

struct ContentTypeTests {
    @Test func rfc2231() throws {
        let ct = try #require(ContentType.parse(Array("application/x; name*0*=UTF-8''P%C3%B6yt; name*1*=%C3%A4.odt; x=\"q\\\"d\"".utf8)))
        #expect(ct.parameter("name") == "Pöytä.odt")
        #expect(ct.parameters.first?.imapName == "name*")
        #expect(ct.parameters.first?.rawValue == "UTF-8''P%C3%B6yt%C3%A4.odt")
        #expect(ct.parameter("x") == "q\"d")
        let lang = try #require(ContentType.parse(Array("text/plain; title*=us-ascii'en-us'This%20is".utf8)))
        #expect(lang.parameters.first?.language == "en-us")
        #expect(lang.parameter("TITLE") == "This is")
        let split = try #require(ContentType.parse(Array("text/plain; a*0=\"one \"; a*1=two".utf8)))
        #expect(split.parameter("a") == "one two")
        #expect(ContentType.parse(Array("text".utf8)) == nil)
    }
}
