import NIOCore
import ServerCore
import Testing

@Suite("Serving gate")
struct ServingGateTests {
    @Test("a listener behind a closed gate is bound but starts no session until the gate opens")
    func noSessionBeforeTheGateOpens() async throws {
        let log = SessionLog()
        let gate = ServingGate()
        let listener = try Listener(configuration: ListenerConfiguration(name: "smtp", port: 0), gate: gate, logger: testLogger,
                                    handler: EchoProtocol(log: log))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.run() }
            let port = try await listener.boundAddress.port!
            try await TestClient.with(port: port) { client async throws in
                log.record("gate opens")   // the session's "open" entry must come after this one
                gate.open()
                #expect(try await client.readLine() == "+OK ready")
                #expect(log.all.first == "gate opens" && log.all.dropFirst().first?.hasPrefix("open ") == true, "\(log.all)")
            }
            listener.shutdownGracefully()
            try await group.waitForAll()
        }
    }

    @Test("a server cancelled before its gate opens still stops")
    func cancellationEndsTheWait() async throws {
        let gate = ServingGate()
        let listener = try Listener(configuration: ListenerConfiguration(name: "imap", port: 0), gate: gate, logger: testLogger,
                                    handler: EchoProtocol(log: SessionLog()))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.run() }
            _ = try await listener.boundAddress
            group.cancelAll()
            try? await group.waitForAll()
        }
        #expect(!gate.isOpen)
        gate.open()
        await gate.wait()   // an open gate never holds anyone back
        #expect(gate.isOpen)
    }
}
