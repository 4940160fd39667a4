import Directory
import Foundation
import MailCore

/// What `serve --dev` sets up on first run: the domain `example.test` and the account `demo@example.test`, with a random
/// password kept in `DATA_DIR/demo-password` (mode 0600) so every later start can print it again.
public enum DevelopmentSetup {
    public static let domain = "example.test"
    public static let account = "demo@example.test"

    /// Ensures the demo domain and account exist; returns the demo password.
    public static func ensureDemoAccount(in system: MailSystem) async throws -> String {
        let passwordFile = system.configuration.dataDirectory + "/demo-password"
        if let stored = try? String(contentsOfFile: passwordFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
           !stored.isEmpty, await system.directory.authenticate(username: account, password: stored) != nil {
            return stored
        }
        let password = randomPassword()
        if try await !system.directory.domains().contains(DomainName(domain)!) {
            _ = try await system.addDomain(domain)
        }
        if try await system.directory.users(in: domain).contains(where: { $0.address.normalized == account }) {
            try await system.directory.setPassword(account, password: password)
        } else {
            try await system.directory.addUser(account, password: password)
        }
        _ = FileManager.default.createFile(atPath: passwordFile, contents: Data((password + "\n").utf8), attributes: [.posixPermissions: 0o600])
        return password
    }

    /// 16 characters from an alphabet without look-alikes: about 90 bits.
    static func randomPassword() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<16).map { _ in alphabet.randomElement(using: &generator)! })
    }
}
