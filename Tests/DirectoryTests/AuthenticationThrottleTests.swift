import Testing

@testable import Directory

@Suite struct AuthenticationThrottleTests {
    static let configuration = AuthenticationThrottle.Configuration(
        baseDelay: .milliseconds(100), maximumDelay: .seconds(1), lockoutThreshold: 3, lockoutDuration: .seconds(60),
        maximumEntries: 4)

    @Test(arguments: [(0, Duration.zero), (1, .milliseconds(100)), (2, .milliseconds(200)), (4, .milliseconds(800)),
                      (5, .seconds(1)), (1000, .seconds(1))])
    func delayGrowsAndIsCapped(_ failures: Int, _ expected: Duration) {
        #expect(AuthenticationThrottle(configuration: Self.configuration).delay(afterFailures: failures) == expected)
    }

    @Test func failuresGrowTheDelayThenLockOutTheAddressAndTheAccount() {
        let throttle = AuthenticationThrottle(configuration: Self.configuration)
        let start = ContinuousClock.now
        #expect(throttle.recordFailure(address: "192.0.2.1", account: "Alice@example.test", now: start) == .milliseconds(100))
        #expect(throttle.recordFailure(address: "192.0.2.1", account: "alice@example.test", now: start) == .milliseconds(200))
        #expect(!throttle.isLockedOut(address: "192.0.2.1", account: nil, now: start))
        _ = throttle.recordFailure(address: "192.0.2.1", account: "alice@example.test", now: start)
        #expect(throttle.isLockedOut(address: "192.0.2.1", account: nil, now: start))
        #expect(throttle.isLockedOut(address: "198.51.100.9", account: "ALICE@example.test", now: start))
        #expect(!throttle.isLockedOut(address: "198.51.100.9", account: "bob@example.test", now: start))
        // The lockout ends once the failures are older than the lockout duration.
        #expect(!throttle.isLockedOut(address: "192.0.2.1", account: "alice@example.test", now: start + .seconds(61)))
    }

    @Test func successForgetsFailures() {
        let throttle = AuthenticationThrottle(configuration: Self.configuration)
        let now = ContinuousClock.now
        for _ in 0..<3 { _ = throttle.recordFailure(address: "192.0.2.1", account: "alice@example.test", now: now) }
        throttle.recordSuccess(address: "192.0.2.1", account: "alice@example.test")
        #expect(!throttle.isLockedOut(address: "192.0.2.1", account: "alice@example.test", now: now))
    }

    @Test func tablesStayBounded() {
        let throttle = AuthenticationThrottle(configuration: Self.configuration)
        let start = ContinuousClock.now
        for n in 0..<50 {
            _ = throttle.recordFailure(address: "10.0.0.\(n)", account: "user\(n)@example.test", now: start + .milliseconds(n))
        }
        #expect(throttle.entryCounts.addresses <= 4 && throttle.entryCounts.accounts <= 4)
        // The newest entries are the ones kept.
        _ = throttle.recordFailure(address: "10.0.0.49", account: nil, now: start + .seconds(1))
        _ = throttle.recordFailure(address: "10.0.0.49", account: nil, now: start + .seconds(1))
        #expect(throttle.isLockedOut(address: "10.0.0.49", account: nil, now: start + .seconds(1)))
    }
}
