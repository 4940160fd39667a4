// swift-tools-version: 6.1
//
// The libFuzzer targets (issue 15 §4: every parser fuzzed), one executable per parser. A separate package so that the
// main one never builds with the fuzzer: it depends on the parent package by path and uses its parser libraries.
// Build and run with scripts/fuzz, which passes `--sanitize fuzzer --sanitize address` to every target (coverage for the
// parsers, not only for these entry points). Each target is one `main.swift` defining `LLVMFuzzerTestOneInput`;
// `-parse-as-library` keeps Swift from emitting a `main`, so libFuzzer's is used.

import PackageDescription

let letterbox = "Letterbox"
let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let toml = Target.Dependency.product(name: "TOMLKit", package: "TOMLKit")

func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(
        name: "Fuzz\(name)",
        dependencies: dependencies,
        path: "Fuzz\(name)",
        swiftSettings: [.swiftLanguageMode(.v6), .unsafeFlags(["-parse-as-library"])]
    )
}

func our(_ module: String) -> Target.Dependency { .product(name: module, package: letterbox) }

let package = Package(
    name: "LetterboxFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: letterbox, path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
    ],
    targets: [
        // DNS as data and a blocking runner for the async evaluators.
        .target(name: "FuzzSupport", dependencies: [our("MailCore")], path: "FuzzSupport", swiftSettings: [.swiftLanguageMode(.v6)]),
        fuzzTarget("MIME", [our("MailCore"), our("MIME")]),
        fuzzTarget("IMAP", [our("MailCore"), our("IMAPProtocol"), nioCore]),
        fuzzTarget("SMTP", [our("MailCore"), our("SMTPProtocol"), nioCore]),
        fuzzTarget("SASL", [our("MailCore"), our("SASL")]),
        fuzzTarget("DKIM", [our("MailCore"), our("MailAuth"), "FuzzSupport"]),
        fuzzTarget("SPF", [our("MailCore"), our("MailAuth"), "FuzzSupport"]),
        fuzzTarget("DMARC", [our("MailCore"), our("MailAuth"), "FuzzSupport"]),
        fuzzTarget("DNS", [our("MailCore"), our("DNS"), nioCore]),
        // The configuration reader is compiled from LetterboxServer's two files (symlinked), not by linking all of
        // LetterboxServer: they use only MailCore and TOMLKit, and the rest would put every server module in the binary.
        // The reader takes each module's defaults from the module (LetterboxConfiguration's imports).
        fuzzTarget("Config", [our("MailCore"), our("SASL"), our("Directory"), our("IMAPProtocol"), our("HTTPServer"), toml]),
    ]
)
