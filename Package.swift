// swift-tools-version:6.1
// Ferry: a secure file-transfer daemon (ferryd) and client (ferry).
// Layout (see README): Protocol is sans-I/O and imports only COpenSSL; only Daemon and Client touch CLibUV.
import PackageDescription

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
    ],
    targets: [
        .systemLibrary(name: "CLibUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .target(name: "Protocol", dependencies: ["COpenSSL"]),
        .executableTarget(
            name: "Daemon",
            dependencies: [
                "Protocol", "CLibUV",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "Client",
            dependencies: [
                "Protocol", "CLibUV",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(
            name: "ProtocolTests",
            dependencies: ["Protocol"],
            exclude: ["Vectors"]),
    ],
    swiftLanguageModes: [.v6]
)
