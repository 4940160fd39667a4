import Testing
@testable import HTTPServer

@Suite struct AddressRangeTests {
    @Test(arguments: [
        ("127.0.0.0/8", "127.0.0.1", true), ("127.0.0.0/8", "127.255.1.2", true), ("127.0.0.0/8", "128.0.0.1", false),
        ("::1", "::1", true), ("::1", "::2", false), ("127.0.0.0/8", "::ffff:127.0.0.1", true),
        ("10.1.2.3", "10.1.2.3", true), ("10.1.2.3", "10.1.2.4", false), ("0.0.0.0/0", "203.0.113.9", true),
        ("2001:db8::/32", "2001:db8:1::5", true), ("2001:db8::/32", "2001:db9::1", false), ("::/0", "fe80::1%eth0", true),
        ("192.168.0.0/23", "192.168.1.255", true), ("192.168.0.0/23", "192.168.2.0", false),
        ("127.0.0.1", "::1", false), ("::1", "127.0.0.1", false), ("127.0.0.0/8", "garbage", false),
    ])
    func membership(range: String, address: String, expected: Bool) throws {
        #expect(try #require(AddressRange(range)).contains(address) == expected)
    }

    @Test(arguments: ["", "/8", "127.0.0.1/33", "::1/129", "1.2.3", "256.0.0.1", "127.0.0.1/x", "a/b/c", "localhost"])
    func invalid(text: String) {
        #expect(AddressRange(text) == nil)
    }

    @Test func hostBitsAreCleared() throws {
        #expect(try #require(AddressRange("10.9.8.7/8")).description == "10.0.0.0/8")
        #expect(try #require(AddressRange("::1")).description == "0:0:0:0:0:0:0:1/128")
    }
}
