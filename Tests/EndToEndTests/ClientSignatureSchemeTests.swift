// Issue #16 point 6 with real processes: `[protocol] signatures` says what clients may sign with, and the server signs
// with what its key makes. ferryd with an Ed25519 key (`ferry ca`'s default) and signatures = ["rsa-pss-sha256"]
// starts (it used to refuse: the list left out its own scheme), takes an upload from a client with an RSA key, and
// refuses a client with an Ed25519 key with no_common_signature (a refused handshake for `ferry upload`: exit 77).
import Foundation
import TestSupport
import XCTest

final class ClientSignatureSchemeTests: XCTestCase {
    func testAnEd25519ServerRequiringRSAPSSTakesAnRSAClientAndRefusesAnEd25519One() throws {
        let env = try TestEnvironment(self)
        try env.ferryCA(["issue", "--dir", env.pki.directory.appendingPathComponent("ca").path, "--name", "bob", "--client",
                         "--key-type", "rsa-3072", "--out", env.pki.directory.appendingPathComponent("certs").path])
        let daemon = try Daemon.start(environment: env, workers: 1,
                                      settings: ["protocol": ["signatures = [\"rsa-pss-sha256\"]"]])
        let file = try env.sourceDirectory("signatures").appendingPathComponent("signed.bin")
        let content = Content.random(20_000)
        try Content.write(content, to: file)

        let rsa = try env.upload([file.path], to: daemon, as: env.credentials("bob"))
        XCTAssertEqual(rsa.status, 0, rsa.files.first?.error ?? rsa.run.stderr)
        assertStored(daemon.area("bob").appendingPathComponent("signed.bin"), equals: content)
        let session = daemon.logLines(message: "session established").first
        XCTAssertEqual(session?["client_sig"], "rsa-pss-sha256", daemon.log)
        XCTAssertEqual(session?["server_sig"], "ed25519", daemon.log)

        let ed25519 = try env.upload([file.path], to: daemon, extra: ["--retries", "0"])
        XCTAssertEqual(ed25519.status, 77, ed25519.run.stderr)
        let error = ed25519.files.first?.error ?? ""
        XCTAssertTrue(error.contains("no common signature scheme"), error)
        // The client ends the handshake (its key makes none of what the server accepts) and tells the server why.
        let alert = daemon.waitForLog(timeout: 5) { $0.message == "client sent an alert" }
        XCTAssertEqual(alert?["alert"], "no common signature scheme", daemon.log)
        XCTAssertTrue(alert?["detail"]?.contains("ed25519") ?? false, "\(alert?.text ?? "")")
        XCTAssertFalse(FileManager.default.fileExists(atPath: daemon.area("alice").path))
        daemon.assertRunning("after refusing the Ed25519 client")
    }
}
