// swift-tools-version: 6.1
//
// Letterbox: one package, one executable (`letterbox`), library targets as in ARCHITECTURE.md (the parser libraries are
// also products, only so that Fuzz/Package.swift can use them).
// This file is the one module table: `scripts/check-imports` allows each target to import exactly the dependencies it
// declares here, and checks that ARCHITECTURE.md's table says the same.

import PackageDescription

let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let nioSSL = Target.Dependency.product(name: "NIOSSL", package: "swift-nio-ssl")
let nioTLS = Target.Dependency.product(name: "NIOTLS", package: "swift-nio")
let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
let cryptoExtras = Target.Dependency.product(name: "_CryptoExtras", package: "swift-crypto")
let x509 = Target.Dependency.product(name: "X509", package: "swift-certificates")
let asn1 = Target.Dependency.product(name: "SwiftASN1", package: "swift-asn1")
let grdb = Target.Dependency.product(name: "GRDB", package: "GRDB.swift")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")
let lifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let unixSignals = Target.Dependency.product(name: "UnixSignals", package: "swift-service-lifecycle")
let toml = Target.Dependency.product(name: "TOMLKit", package: "TOMLKit")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let hummingbird = Target.Dependency.product(name: "Hummingbird", package: "hummingbird")
let postgres = Target.Dependency.product(name: "PostgresNIO", package: "postgres-nio")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Letterbox",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "letterbox", targets: ["letterbox"]),
        .executable(name: "letterbox-load", targets: ["letterbox-load"]),
        // The parsers, for the libFuzzer targets in Fuzz/Package.swift (which depends on this package by path).
        .library(name: "MailCore", targets: ["MailCore"]),
        .library(name: "MIME", targets: ["MIME"]),
        .library(name: "SASL", targets: ["SASL"]),
        .library(name: "SMTPProtocol", targets: ["SMTPProtocol"]),
        .library(name: "IMAPProtocol", targets: ["IMAPProtocol"]),
        .library(name: "MailAuth", targets: ["MailAuth"]),
        .library(name: "DNS", targets: ["DNS"]),
        // The configuration reader (fuzzed through symlinks in Fuzz/FuzzConfig) takes module defaults from these.
        .library(name: "Directory", targets: ["Directory"]),
        .library(name: "HTTPServer", targets: ["HTTPServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
    ],
    targets: [
        // Pure modules: no sockets, files or logging.
        .target(name: "MailCore", swiftSettings: strict),
        .target(name: "MIME", dependencies: ["MailCore"], swiftSettings: strict),
        .target(name: "SASL", dependencies: ["MailCore", crypto, cryptoExtras], swiftSettings: strict),
        .target(name: "SMTPProtocol", dependencies: ["MailCore", nioCore], swiftSettings: strict),
        .target(name: "IMAPProtocol", dependencies: ["MailCore", "MIME", nioCore], swiftSettings: strict),

        // Storage and accounts.
        .target(name: "MailStore", dependencies: ["MailCore", "MIME"], swiftSettings: strict),
        .target(name: "MailStoreSQLite", dependencies: ["MailStore", "MailCore", grdb, crypto], swiftSettings: strict),
        .target(
            name: "MailStorePostgres",
            dependencies: ["MailStore", "MailCore", postgres, nioCore, nioPosix, nioSSL, logging, crypto],
            swiftSettings: strict
        ),
        .target(name: "Directory", dependencies: ["MailCore", "SASL", "MailStore", crypto, metrics], swiftSettings: strict),

        .target(
            name: "Delivery",
            dependencies: ["MailCore", "MIME", "MailStore", "Directory", "SMTPProtocol", "DNS", nioCore, nioPosix, nioSSL, nioTLS, logging, metrics],
            swiftSettings: strict
        ),
        .target(name: "DNS", dependencies: ["MailCore", nioCore, nioPosix], swiftSettings: strict),
        .target(name: "MailAuth", dependencies: ["MailCore", "MIME", crypto, cryptoExtras], swiftSettings: strict),

        // Network.
        .target(
            name: "ServerCore",
            dependencies: [nioCore, nioPosix, nioSSL, logging, metrics, lifecycle, x509, asn1, crypto, cryptoExtras],
            swiftSettings: strict
        ),

        .target(
            name: "SMTPServer",
            dependencies: ["ServerCore", "SMTPProtocol", "SASL", "Directory", "Delivery", "MailStore", "MailCore", "MailAuth", "MIME", nioCore, logging, metrics],
            swiftSettings: strict
        ),
        .target(
            name: "IMAPServer",
            dependencies: ["ServerCore", "IMAPProtocol", "SASL", "Directory", "MailStore", "MailCore", "MIME", nioCore, logging, metrics],
            swiftSettings: strict
        ),

        .target(
            name: "HTTPServer",
            dependencies: ["MailCore", hummingbird, prometheus, metrics, logging, nioCore, crypto],
            swiftSettings: strict
        ),

        // Wiring and the command line.
        .target(
            name: "LetterboxServer",
            dependencies: [
                "MailCore", "MIME", "SASL", "MailStore", "MailStoreSQLite", "MailStorePostgres", "Directory", "Delivery", "ServerCore",
                "SMTPServer", "IMAPServer", "SMTPProtocol", "IMAPProtocol", "DNS", "HTTPServer", "MailAuth", crypto, nioCore, nioSSL, nioTLS, nioPosix, logging, lifecycle, unixSignals,
                toml, metrics, prometheus, hummingbird,
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "letterbox", dependencies: ["LetterboxServer", argumentParser, logging], swiftSettings: strict),
        // The load generator for benchmarks (issue 9): talks SMTP/IMAP to any server; uses none of our modules.
        .executableTarget(
            name: "letterbox-load",
            dependencies: [nioCore, nioPosix, nioSSL, argumentParser, .product(name: "Histogram", package: "hdrhistogram-swift")],
            swiftSettings: strict
        ),

        // Tests.
        .target(
            name: "MailTestSupport",
            dependencies: ["MailCore", "MailStore", "DNS", nioCore, nioPosix],
            path: "Tests/MailTestSupport",
            swiftSettings: strict
        ),
        .testTarget(name: "MailCoreTests", dependencies: ["MailCore"], swiftSettings: strict),
        .testTarget(name: "MIMETests", dependencies: ["MIME", "MailCore"], swiftSettings: strict),
        .testTarget(name: "SASLTests", dependencies: ["SASL", "MailCore"], swiftSettings: strict),
        .testTarget(
            name: "MailAuthTests",
            dependencies: ["MailAuth", "MailCore", "DNS", "MailTestSupport", crypto, cryptoExtras, nioCore, nioPosix],
            swiftSettings: strict
        ),
        .testTarget(name: "DNSTests", dependencies: ["DNS", "MailCore", "MailTestSupport", nioCore, nioPosix], swiftSettings: strict),
        .testTarget(name: "SMTPProtocolTests", dependencies: ["SMTPProtocol", "MailCore", nioCore], swiftSettings: strict),
        .testTarget(name: "IMAPProtocolTests", dependencies: ["IMAPProtocol", "MailCore", "MIME", nioCore], swiftSettings: strict),
        .testTarget(
            name: "MailStoreTests",
            dependencies: ["MailStore", "MailStoreSQLite", "MailStorePostgres", "MailTestSupport", "MailCore", grdb],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DirectoryTests",
            dependencies: ["Directory", "MailStore", "MailStoreSQLite", "SASL", "MailCore"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DeliveryTests",
            dependencies: ["Delivery", "MailStore", "MailStoreSQLite", "MailTestSupport", "MailCore", "Directory", "SMTPProtocol", nioCore, logging],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ServerCoreTests",
            dependencies: ["ServerCore", nioCore, nioPosix, nioSSL, logging],
            swiftSettings: strict
        ),
        .testTarget(name: "SMTPServerTests", dependencies: ["SMTPServer", "MailCore"], swiftSettings: strict),
        .testTarget(
            name: "IMAPServerTests",
            dependencies: ["IMAPServer", "IMAPProtocol", "MailStore", "MailStoreSQLite", "MailTestSupport", "MailCore", "MIME"],
            swiftSettings: strict
        ),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "MailCore", hummingbird, nioCore], swiftSettings: strict),
        .testTarget(
            name: "LetterboxServerTests",
            dependencies: ["ServerCore", "LetterboxServer", "MailStore", "Directory", "MailCore", logging],
            swiftSettings: strict
        ),
    ]
)
