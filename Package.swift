// swift-tools-version:6.1
// Ferry: a secure file-transfer daemon (ferryd) and client (ferry).
// Layout (see README): Protocol is sans-I/O and holds the one crypto layer, the only importer of COpenSSL (swift-crypto
// serves ML-KEM alone); EventLoop is the only importer of CLibUV; Units is the byte-size parser both executables share.
import PackageDescription

/// The libFuzzer targets (Sources/Fuzz/<name>/main.swift, executable Fuzz<name>); scripts/fuzz --list reads them.
let fuzzTargets = [
    "RecordLayer", "HandshakeMessages", "SessionMessages", "UploadMessages", "KeyShares", "ServerConnection",
    "ClientConnection", "DaemonConfig", "ClientSettings", "IntentJournal",
]
/// The targets whose harness is ConfigFuzzSupport (the configuration loaders) rather than FuzzSupport (the protocol).
let configFuzzTargets: Set = ["DaemonConfig", "ClientSettings"]

let package = Package(
    name: "ferry",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ferryd", targets: ["Daemon"]),
        .executable(name: "ferry", targets: ["Client"]),
        .library(name: "Protocol", targets: ["Protocol"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // ML-KEM-768 only (OpenSSL 3.0 has none); every other primitive stays on OpenSSL.
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
        // Latency distributions of `ferry loadtest` (Client only).
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // The metadata index's SQLite back end (Index only; docs/STORE.md says why GRDB).
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        .systemLibrary(name: "CLibUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        // Linux calls Swift's Glibc module cannot reach (openat2, sync_file_range, O_DIRECT, strerrorname_np, mallopt).
        .systemLibrary(name: "CPlatform"),
        .target(name: "Protocol", dependencies: ["COpenSSL", .product(name: "Crypto", package: "swift-crypto")]),
        // The non-libuv system calls: the *at calls, blocking file I/O, I/O buffers, the clock, heap tuning.
        .target(name: "Platform", dependencies: ["CPlatform"]),
        // The one Swift face of libuv, shared by the daemon, the client and the load test.
        .target(name: "EventLoop", dependencies: ["CLibUV"]),
        // Everything below ferryd's storage root (names, the walk, staging, the writer, the commit, the lock): no
        // sockets and no libuv; its blocking work runs on the executor it is given.
        // The metadata index (issue #18, docs/STORE.md): stored files, usage and intents, in SQLite (GRDB) or PostgreSQL.
        // Its PostgreSQL back end's client library (docs/STORE.md says why libpq): the only importer of libpq-fe.h.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(name: "Index", dependencies: ["CLibPQ", .product(name: "GRDB", package: "GRDB.swift")]),
        .target(name: "Store", dependencies: ["Protocol", "Platform", "Units", "Index"]),
        // Byte sizes as people write them ("64MiB", "64M"): one parser for both configuration files and every option.
        .target(name: "Units"),
        // What both configuration loaders check before TOMLKit parses a file (a header that makes its parser abort).
        .target(name: "TOMLPreflight"),
        // ferryd.toml: the key table, the loader and the effective configuration, a library so that a fuzz target can
        // load configurations too.
        .target(
            name: "FerrydConfig",
            dependencies: [
                "Protocol", "Store", "Units", "TOMLPreflight",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]),
        .executableTarget(
            name: "Daemon",
            dependencies: [
                "Protocol", "EventLoop", "Platform", "Store", "Index", "Units", "FerrydConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),
        // ferry's code: everything but main.swift, a library so that a fuzz target can load client.toml too.
        .target(
            name: "FerryClient",
            dependencies: [
                "Protocol", "EventLoop", "Platform", "Units", "TOMLPreflight",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]),
        .executableTarget(
            name: "Client",
            dependencies: ["FerryClient", "Protocol", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Fuzzing (docs/FUZZING.md, scripts/fuzz): libFuzzer's driver behind a weak symbol, so a plain build links; the
        // harnesses, shared by the targets and by the regression tests that replay what they found; one small
        // executable per target.
        .target(name: "CFuzzDriver"),
        .target(name: "FuzzSupport", dependencies: ["Protocol"], path: "Sources/Fuzz/Support"),
        .target(name: "ConfigFuzzSupport", dependencies: ["FerrydConfig", "FerryClient"], path: "Sources/Fuzz/ConfigSupport"),
    ] + fuzzTargets.map { name in
        let harness: [Target.Dependency] = configFuzzTargets.contains(name) ? ["ConfigFuzzSupport", "FuzzSupport"]
            : name == "IntentJournal" ? ["Index", "FuzzSupport"] : ["FuzzSupport"]
        return .executableTarget(name: "Fuzz" + name, dependencies: ["CFuzzDriver"] + harness, path: "Sources/Fuzz/" + name)
    } + [
        // What more than one test target needs: temporary directories, child processes with deadlines, the openssl
        // command line, where the built executables are, an executor the store's tests step by hand. A helper only one
        // target uses stays in that target.
        .target(name: "TestSupport", dependencies: ["Store"], path: "Tests/TestSupport"),
        .testTarget(
            name: "ProtocolTests",
            dependencies: ["Protocol", "TestSupport", "FuzzSupport"],
            exclude: ["Vectors"]),
        .testTarget(name: "EventLoopTests", dependencies: ["EventLoop", "Platform", "TestSupport"]),
        .testTarget(name: "UnitsTests", dependencies: ["Units"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "Index", "Platform", "Protocol", "TestSupport"]),
        .testTarget(name: "IndexTests", dependencies: ["Index", "TestSupport"]),
        .testTarget(
            name: "DaemonTests",
            dependencies: ["Daemon", "FerrydConfig", "Protocol", "Store", "Platform", "EventLoop", "TestSupport"]),
        .testTarget(
            name: "ClientTests",
            dependencies: ["Client", "FerryClient", "Platform", "Protocol", "TestSupport", .product(name: "TOMLKit", package: "TOMLKit")]),
        // Real ferryd and ferry processes on 127.0.0.1 (scripts/test builds the executables first).
        .testTarget(name: "EndToEndTests", dependencies: ["Protocol", "EventLoop", "Platform", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
