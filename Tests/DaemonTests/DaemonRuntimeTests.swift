// DaemonRuntime, from a configuration to what the daemon runs with (issue #16 points 6 and 7): the server's signature
// follows from its key, whatever `[protocol] signatures` accepts from clients; the certificate check runs on the
// configured files; a missing storage root is an error and is not created, while the staging directory in an
// existing root still is.
import Foundation
import Platform
import Protocol
import TestSupport
import XCTest

@testable import Daemon
@testable import FerrydConfig

final class DaemonRuntimeTests: XCTestCase {
    private let pki = CheckPKI.shared

    /// A configuration file in a fresh directory: the Ed25519 server with its intermediate, the root as client_ca,
    /// `root` as the storage root (created unless `createRoot` is false), plus `extra` lines in [protocol].
    private func configuration(createRoot: Bool = true, protocolLines: String = "") throws -> (DaemonConfig, URL) {
        let directory = try makeTemporaryDirectory("runtime").url
        let chain = directory.appendingPathComponent("server-chain.crt")
        try Data(try pki.pem("server.crt", "intermediate.crt")).write(to: chain)
        let root = directory.appendingPathComponent("root", isDirectory: true)
        if createRoot { try FileManager.default.createDirectory(at: root, withIntermediateDirectories: false) }
        let text = """
            [identity]
            certificate = "\(chain.path)"
            private_key = "\(pki.url("server.key").path)"
            client_ca = "\(pki.url("root.crt").path)"
            [storage]
            root = "root"
            [protocol]
            \(protocolLines)

            """
        return (try DaemonConfig.parse(toml: text, baseDirectory: directory, environment: [:]), root)
    }

    /// Point 6: an Ed25519 server that accepts only RSA-PSS (SHA-256) from its clients starts; before the split this
    /// was refused ("allows none of the schemes the server key signs with").
    func testAnEd25519ServerMayAcceptOnlyRSAPSSFromItsClients() throws {
        let (config, _) = try configuration(protocolLines: "signatures = [\"rsa-pss-sha256\"]")
        let runtime = try DaemonRuntime(config: config)
        let protocolConfiguration = runtime.settings.protocolConfiguration
        XCTAssertEqual(protocolConfiguration.preferences.signatureSchemes, [.rsaPSSSHA256])
        XCTAssertEqual(protocolConfiguration.identity.key.schemes, [.ed25519])

        // That configuration in a handshake: an RSA client gets through, signing with RSA-PSS; the server signs with
        // Ed25519 (in memory: the daemon's own ServerConfiguration against a Protocol client).
        var server = ServerConnection(configuration: protocolConfiguration)
        var client = try ClientConnection(configuration: ClientConfiguration(
            identity: pki.identity("rsa-client"), serverTrust: TrustStore(pemBundle: pki.pem("root.crt")),
            serverName: "localhost"))
        let now = Now(monotonicNanoseconds: 1, unixSeconds: SystemClock.unixSeconds())
        for _ in 0..<20 {
            server.receive(client.takeOutput())
            while try server.nextEvent(now: now) != nil {}
            client.receive(server.takeOutput())
            while try client.nextEvent(now: now) != nil {}
        }
        XCTAssertTrue(client.isEstablished && server.isEstablished)
        XCTAssertEqual(client.parameters?.serverSignature, .ed25519)
        XCTAssertEqual(server.parameters?.clientSignature, .rsaPSSSHA256)
        XCTAssertEqual(server.parameters?.peerIdentity, "bob")
    }

    func testTheCertificateCheckRunsOnTheConfiguredFiles() throws {
        let (config, _) = try configuration()
        let notAfter = try XCTUnwrap(pki.certificate("server").notAfter)
        XCTAssertThrowsError(try DaemonRuntime(config: config, now: notAfter + 60)) { error in
            XCTAssertTrue("\(error)".hasPrefix("identity.certificate (\(config.identity.certificate.path)): the server "
                + "certificate CN=files.test expired on \(SystemClock.utcText(notAfter))"), "\(error)")
        }
        let warned = try DaemonRuntime(config: config, now: notAfter - 86_400 - 60)
        XCTAssertTrue(warned.certificates.warnings.first?.contains("in 1 day") ?? false, "\(warned.certificates.warnings)")
        XCTAssertEqual(try DaemonRuntime(config: config).certificates.expiries.map(\.role), [.server, .serverChain, .clientCA])
    }

    func testAMissingStorageRootIsAnErrorAndIsNotCreated() throws {
        let (config, root) = try configuration(createRoot: false)
        XCTAssertThrowsError(try DaemonRuntime(config: config)) { error in
            XCTAssertEqual("\(error)", "storage.root: \(root.path) does not exist, and ferryd does not create it: create "
                + "it, owned by the user ferryd runs as and closed to others (e.g. install -d -m 0750 -o ferry -g ferry "
                + "\(root.path)), or correct the path")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.path), "the root was created")
        // A file in its place is named as such.
        try Data().write(to: root.deletingLastPathComponent().appendingPathComponent("root"))
        XCTAssertThrowsError(try DaemonRuntime(config: config)) { error in
            XCTAssertEqual("\(error)", "storage.root: \(root.path) is not a directory")
        }
    }

    func testTheStagingDirectoryInAnExistingRootIsStillCreated() throws {
        let (config, root) = try configuration()
        _ = try DaemonRuntime(config: config)
        var isDirectory: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent(".staging").path,
                                                     isDirectory: &isDirectory) && isDirectory.boolValue)
    }
}
