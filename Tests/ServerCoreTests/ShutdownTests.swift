import NIOCore
import NIOPosix
import ServerCore
import Testing

@Suite("Graceful shutdown")
struct ShutdownTests {
    /// Starts a listener, runs `body` while it runs, and returns once `run()` has returned by itself.
    private func runUntilStopped(
        _ configuration: ListenerConfiguration,
        log: SessionLog = SessionLog(),
        _ body: @escaping @Sendable (Listener, Int) async throws -> Void
    ) async throws {
        let listener = try Listener(configuration: configuration, logger: testLogger, handler: EchoProtocol(log: log))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.run() }
            let port = try await listener.boundAddress.port!
            try await body(listener, port)
            try await group.waitForAll()  // run() must return on its own: no cancellation here
        }
    }

    @Test("a session in a transaction finishes it, then run() returns; new connections are not accepted")
    func liveSessionFinishes() async throws {
        let configuration = ListenerConfiguration(name: "smtp", port: 0, shutdownGracePeriod: .seconds(3600))
        try await runUntilStopped(configuration) { listener, port in
            try await TestClient.with(port: port) { client in
                #expect(try await client.readLine() == "+OK ready")
                try await client.send("BEGIN\r\n")
                #expect(try await client.readLine() == "+OK begun")

                listener.shutdownGracefully()
                // Accepting stopped: a new connection is refused by the OS or closed without a greeting.
                let greeting = try? await TestClient.with(port: port) { other in try await other.readLine() }
                #expect(greeting == nil || greeting == "-ERR refused shutting_down")

                try await client.send("done\r\n")
                #expect(try await client.readLine() == "+OK finished done shutdown=true")
                #expect(try await client.readLine() == "* SHUTDOWN")
                #expect(try await client.readLine() == nil)
            }
        }
    }

    @Test("a waiting session is told at once; an idle listener stops")
    func waitingSessionIsTold() async throws {
        let configuration = ListenerConfiguration(name: "imap", port: 0, shutdownGracePeriod: .seconds(3600))
        try await runUntilStopped(configuration) { listener, port in
            try await TestClient.with(port: port) { client async throws in
                #expect(try await client.readLine() == "+OK ready")
                listener.shutdownGracefully()
                #expect(try await client.readLine() == "* SHUTDOWN")
                #expect(try await client.readLine() == nil)
            }
        }
        try await runUntilStopped(configuration) { listener, _ in listener.shutdownGracefully() }
    }

    @Test("a session that ignores the shutdown is closed when the grace period ends")
    func gracePeriodCloses() async throws {
        let configuration = ListenerConfiguration(name: "smtp", port: 0, shutdownGracePeriod: .milliseconds(200))
        let log = SessionLog()
        try await runUntilStopped(configuration, log: log) { listener, port in
            try await TestClient.with(port: port) { client in
                #expect(try await client.readLine() == "+OK ready")
                try await client.send("IGNORE-SHUTDOWN\r\n")
                #expect(try await client.readLine() == "+OK ignoring")
                listener.shutdownGracefully()
                #expect(try await client.readLine() == nil)
            }
        }
        #expect(log.all.contains { $0.hasPrefix("open") })
    }

    @Test("boundAddress fails when the port is taken")
    func bindFailure() async throws {
        try await withListener { _, port in
            let clash = try Listener(
                configuration: ListenerConfiguration(name: "clash", port: port),
                logger: testLogger,
                handler: EchoProtocol(log: SessionLog())
            )
            await #expect(throws: ListenerError.self) { try await clash.run() }
            await #expect(throws: ListenerError.self) { _ = try await clash.boundAddress }
        }
    }
}
