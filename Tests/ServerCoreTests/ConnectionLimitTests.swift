import NIOCore
import Testing

@testable import ServerCore

@Suite("Connection limits")
struct ConnectionLimitTests {
    enum Action: Sendable {
        case admit(String?, ConnectionLimiter.Admission)
        case release(String?)
        case close
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let maxTotal: Int
        let maxPerAddress: Int
        let actions: [Action]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "per-address limit", maxTotal: 10, maxPerAddress: 2, actions: [
            .admit("10.0.0.1", .admitted), .admit("10.0.0.1", .admitted),
            .admit("10.0.0.1", .refused(.tooManyConnectionsFromAddress)),
            .admit("10.0.0.2", .admitted),
            .release("10.0.0.1"), .admit("10.0.0.1", .admitted),
        ]),
        Case(name: "total limit", maxTotal: 2, maxPerAddress: 5, actions: [
            .admit("a", .admitted), .admit("b", .admitted), .admit("c", .refused(.tooManyConnections)),
            .release("a"), .admit("c", .admitted),
        ]),
        Case(name: "unknown address counts toward the total only", maxTotal: 2, maxPerAddress: 1, actions: [
            .admit(nil, .admitted), .admit(nil, .admitted), .admit(nil, .refused(.tooManyConnections)),
        ]),
        Case(name: "closed limiter refuses as shutting down", maxTotal: 5, maxPerAddress: 5, actions: [
            .admit("a", .admitted), .close, .admit("b", .refused(.shuttingDown)), .release("a"),
        ]),
    ]

    @Test(arguments: cases)
    func limiter(_ testCase: Case) {
        var limiter = ConnectionLimiter(maxTotal: testCase.maxTotal, maxPerAddress: testCase.maxPerAddress)
        for action in testCase.actions {
            switch action {
            case .admit(let address, let expected): #expect(limiter.admit(address: address) == expected)
            case .release(let address): limiter.release(address: address)
            case .close: limiter.close()
            }
        }
    }

    @Test("over the per-address limit the client gets the protocol's refusal text, then EOF")
    func perAddressRefusal() async throws {
        let configuration = ListenerConfiguration(name: "limits", port: 0, maxConnections: 10, maxConnectionsPerAddress: 2)
        try await withListener(configuration) { _, port in
            try await TestClient.with(port: port) { first in
                #expect(try await first.readLine() == "+OK ready")
                try await TestClient.with(port: port) { second in
                    #expect(try await second.readLine() == "+OK ready")
                    try await TestClient.with(port: port) { third async throws in
                        #expect(try await third.readLine() == "-ERR refused too_many_connections_from_address")
                        #expect(try await third.readLine() == nil)
                    }
                    // The admitted sessions are undisturbed.
                    try await second.send("still\r\n")
                    #expect(try await second.readLine() == "+ECHO still crlf")
                }
            }
        }
    }

    @Test("over the total limit the client gets the protocol's refusal text, then EOF")
    func totalRefusal() async throws {
        let configuration = ListenerConfiguration(name: "limits", port: 0, maxConnections: 1, maxConnectionsPerAddress: 5)
        try await withListener(configuration) { _, port in
            try await TestClient.with(port: port) { first in
                #expect(try await first.readLine() == "+OK ready")
                try await TestClient.with(port: port) { second async throws in
                    #expect(try await second.readLine() == "-ERR refused too_many_connections")
                    #expect(try await second.readLine() == nil)
                }
                try await first.send("QUIT\r\n")
                #expect(try await first.readLine() == "+OK bye")
            }
        }
    }
}
