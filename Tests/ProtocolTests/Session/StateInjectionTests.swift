// Every message injected in every state: whatever a state does not expect is unexpected_message, and the session ends
// (STYLE.md §15, after swift-nio-ssh's assertSendingExtraMessageFails and s2n's handshake-table tests).
import XCTest
@testable import Protocol

final class StateInjectionTests: XCTestCase {
    /// A well-formed body for every message type, so that a rejection is about the state, not the encoding.
    private static func sampleBody(_ type: MessageType) throws -> [UInt8] {
        var encoder = WireEncoder()
        switch type {
        case .clientHello:
            ClientHello(versions: [1], random: [UInt8](repeating: 1, count: 32), cipherSuites: [1], groups: [0x1D],
                        hashes: [4], signatureSchemes: [0x0403],
                        keyShares: [KeyShareEntry(group: 0x1D, share: [UInt8](repeating: 9, count: 32))]).encode(into: &encoder)
        case .serverHello:
            ServerHello(version: 1, random: [UInt8](repeating: 2, count: 32), cipherSuite: 1, group: 0x1D, hash: 4,
                        clientSignatureSchemes: [0x0403], keyShare: [UInt8](repeating: 9, count: 32)).encode(into: &encoder)
        case .serverParameters:
            ServerParameters(rotateAfterBytes: 0, rotateAfterSeconds: 0, maxDataChunk: 65536).encode(into: &encoder)
        case .certificate:
            let chain = try Certificate.chain(fromPEM: Fixtures.pki.server(.ecdsaP256).chainPEM)
            CertificateMessage(chain: chain.map(\.der)).encode(into: &encoder)
        case .certificateVerify: CertificateVerify(scheme: 0x0403, signature: [1, 2, 3]).encode(into: &encoder)
        case .finished: encoder.raw([UInt8](repeating: 0, count: 32))
        case .alert: AlertMessage(code: 0x50, reason: "x").encode(into: &encoder)
        case .goodbye, .rotateCommit, .abort: break
        case .rotateRequest: RotateRequestMessage(epoch: 0).encode(into: &encoder)
        case .rotateInit, .rotateReply: RotationShare(epoch: 1, share: [UInt8](repeating: 9, count: 65)).encode(into: &encoder)
        case .open: UploadRequest(path: "a", size: 10).encode(into: &encoder)
        case .accepted: AcceptedMessage(offset: 0).encode(into: &encoder)
        case .data: encoder.raw([1, 2, 3])
        case .close: CloseMessage(digest: [UInt8](repeating: 0, count: 32)).encode(into: &encoder)
        case .committed: UploadReceipt(storedName: "a", size: 10, digest: [UInt8](repeating: 0, count: 32)).encode(into: &encoder)
        case .uploadError, .operationError: UploadFailure(.exists, "x").encode(into: &encoder)
        case .stat: StatRequest(path: "a").encode(into: &encoder)
        case .statResult: StatResult.directory(path: "a", files: 1, bytes: 1).encode(into: &encoder)
        case .list: ListRequest(directory: "", limit: 10).encode(into: &encoder)
        case .listPage: ListPage(entries: [], nextCursor: "").encode(into: &encoder)
        case .get: GetRequest(path: "a").encode(into: &encoder)
        case .getHeader:
            GetHeader(size: 100, sha256: [UInt8](repeating: 0, count: 32), modified: WireTime(seconds: 0, nanoseconds: 0),
                      executable: false, offset: 0).encode(into: &encoder)
        case .getData: encoder.raw([1, 2, 3])
        case .getEnd: break
        case .delete: DeleteRequest(path: "a").encode(into: &encoder)
        case .deleted: DeleteOutcome(files: 1, bytes: 10).encode(into: &encoder)
        case .rename: RenameRequest(from: "a", to: "b").encode(into: &encoder)
        case .verify: VerifyRequest(path: "a").encode(into: &encoder)
        case .verified:
            VerifyResult(size: 10, recorded: [UInt8](repeating: 0, count: 32), read: [UInt8](repeating: 0, count: 32))
                .encode(into: &encoder)
        }
        return encoder.bytes
    }

    /// Types whose handling does not depend on the upload state (alerts and goodbye close; rotation has its own rules).
    private static let connectionScope: Set<MessageType> = [.alert, .goodbye, .rotateRequest, .rotateInit, .rotateReply, .rotateCommit]

    // MARK: Handshake states, at the message level

    func testServerHandshakeRejectsEveryUnexpectedMessageInEveryState() throws {
        // Stage k: the server has processed the ClientHello and the first k-1 messages of the client's second flight.
        let expected: [MessageType] = [.clientHello, .certificate, .certificateVerify, .finished]
        var checked = 0
        for stage in 0..<expected.count {
            for type in MessageType.allCases where type != expected[stage] {
                var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration())
                try driveServer(&pair, toStage: stage)
                guard case .handshaking(var handshake) = pair.server.core.state else { return XCTFail("server not handshaking") }
                XCTAssertThrowsError(try handshake.handle(type, try Self.sampleBody(type)[...], now: pair.now),
                                     "\(type) at server stage \(stage)") { error in
                    XCTAssertEqual((error as? ProtocolError)?.alert, .unexpectedMessage, "\(type) at server stage \(stage)")
                }
                checked += 1
            }
        }
        XCTAssertEqual(checked, expected.count * (MessageType.allCases.count - 1))
    }

    func testClientHandshakeRejectsEveryUnexpectedMessageInEveryState() throws {
        let expected: [MessageType] = [.serverHello, .serverParameters, .certificate, .certificateVerify, .finished]
        var checked = 0
        for stage in 0..<expected.count {
            for type in MessageType.allCases where type != expected[stage] {
                var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration())
                pair.server.receive(pair.client.takeOutput())
                pair.drainServer()
                let flight = Fixtures.records(in: pair.server.takeOutput())
                XCTAssertEqual(flight.count, 5)
                for record in flight.prefix(stage) {
                    pair.client.receive(record)
                    pair.drainClient()
                }
                XCTAssertNil(pair.clientError)
                guard case .handshaking(var handshake) = pair.client.core.state else { return XCTFail("client not handshaking") }
                XCTAssertThrowsError(try handshake.handle(type, try Self.sampleBody(type)[...], now: pair.now)) { error in
                    XCTAssertEqual((error as? ProtocolError)?.alert, .unexpectedMessage, "\(type) at client stage \(stage)")
                }
                checked += 1
            }
        }
        XCTAssertEqual(checked, expected.count * (MessageType.allCases.count - 1))
    }

    /// Feeds the server the ClientHello and the first `stage - 1` records of the client's second flight.
    private func driveServer(_ pair: inout SessionPair, toStage stage: Int) throws {
        guard stage > 0 else { return }
        let hello = pair.client.takeOutput()
        pair.server.receive(hello)
        pair.drainServer()
        pair.client.receive(pair.server.takeOutput())
        pair.drainClient()
        let flight = Fixtures.records(in: pair.client.takeOutput())
        XCTAssertEqual(flight.count, 3)
        for record in flight.prefix(stage - 1) {
            pair.server.receive(record)
            pair.drainServer()
        }
        XCTAssertNil(pair.serverError)
    }

    // MARK: Upload states, through real sealed records

    private enum ServerStage: CaseIterable { case idle, deciding, receiving, finishing, discarding, answering, sendingFile }

    private func serverPair(at stage: ServerStage) throws -> SessionPair {
        var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration())
        pair.pump()
        if stage == .idle { return pair }
        if stage == .answering {
            pair.client.sendStoreRequest(.stat(StatRequest(path: "a")), now: pair.now)
            pair.pump()
            return pair
        }
        if stage == .sendingFile {
            pair.client.sendStoreRequest(.get(GetRequest(path: "a")), now: pair.now)
            pair.pump()
            pair.server.startGet(GetHeader(size: 100, sha256: [UInt8](repeating: 0, count: 32),
                                           modified: WireTime(seconds: 0, nanoseconds: 0), executable: false, offset: 0), now: pair.now)
            pair.pump()
            return pair
        }
        pair.client.startUpload(UploadRequest(path: "a", size: 10), now: pair.now)
        pair.pump()
        if stage == .deciding { return pair }
        pair.server.accept(now: pair.now)
        pair.pump()
        if stage == .discarding {
            pair.server.fail(UploadFailure(.noSpace, "disk full"), now: pair.now)
            // Do not deliver the UploadError to the client: the server stays in discarding.
            _ = pair.server.takeOutput()
            return pair
        }
        if stage == .receiving { return pair }
        pair.client.sendData([UInt8](repeating: 0, count: 10), now: pair.now)
        pair.client.finishUpload(digest: [UInt8](repeating: 0, count: 32), now: pair.now)
        pair.pump()
        return pair
    }

    func testServerUploadStatesRejectEveryUnexpectedMessage() throws {
        let allowed: [ServerStage: Set<MessageType>] = [
            .idle: [.open, .stat, .list, .get, .delete, .rename, .verify], .deciding: [], .receiving: [.data, .close, .abort],
            .finishing: [], .discarding: [.data, .close, .abort], .answering: [], .sendingFile: [],
        ]
        var checked = 0
        for stage in ServerStage.allCases {
            for type in MessageType.allCases where !Self.connectionScope.contains(type) && !(allowed[stage]?.contains(type) ?? false) {
                var pair = try serverPair(at: stage)
                XCTAssertNil(pair.serverError, "\(stage)")
                pair.client.injectForTesting(type, body: try Self.sampleBody(type))
                pair.server.receive(pair.client.takeOutput())
                pair.drainServer()
                XCTAssertEqual(pair.serverError?.alert, .unexpectedMessage, "\(type) in server upload stage \(stage)")
                XCTAssertTrue(pair.server.isClosed)
                checked += 1
            }
        }
        // 27 upload-scope, store-scope and handshake types (33 less the 6 of connectionScope) in 7 stages; 13 allowed
        // (idle's 7 requests, receiving's and discarding's 3 each).
        XCTAssertEqual(MessageType.allCases.count - Self.connectionScope.count, 27)
        XCTAssertEqual(checked, 7 * 27 - 13)
    }

    private enum ClientStage: CaseIterable {
        case idle, awaitingAccept, sending, awaitingCommit, aborting, awaitingStat, awaitingList, awaitingGet, receivingFile
        case awaitingDelete, awaitingRename, awaitingVerify

        /// The store request that leads from idle to this stage, if one does (awaitingGet and receivingFile: a Get).
        var storeRequest: StoreRequest? {
            switch self {
            case .awaitingStat: .stat(StatRequest(path: "a"))
            case .awaitingList: .list(ListRequest(directory: ""))
            case .awaitingGet, .receivingFile: .get(GetRequest(path: "a"))
            case .awaitingDelete: .delete(DeleteRequest(path: "a"))
            case .awaitingRename: .rename(RenameRequest(from: "a", to: "b"))
            case .awaitingVerify: .verify(VerifyRequest(path: "a"))
            case .idle, .awaitingAccept, .sending, .awaitingCommit, .aborting: nil
            }
        }
    }

    private func clientPair(at stage: ClientStage) throws -> SessionPair {
        var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration())
        pair.pump()
        if stage == .idle { return pair }
        if let request = stage.storeRequest {
            pair.client.sendStoreRequest(request, now: pair.now)
            pair.pump()
            if stage != .receivingFile { return pair }
            pair.server.startGet(GetHeader(size: 100, sha256: [UInt8](repeating: 0, count: 32),
                                           modified: WireTime(seconds: 0, nanoseconds: 0), executable: false, offset: 0), now: pair.now)
            pair.pump()
            return pair
        }
        pair.client.startUpload(UploadRequest(path: "a", size: 10), now: pair.now)
        pair.pump()
        if stage == .awaitingAccept { return pair }
        pair.server.accept(now: pair.now)
        pair.pump()
        if stage == .sending { return pair }
        if stage == .aborting {
            pair.client.abortUpload(now: pair.now)
            _ = pair.client.takeOutput()  // the server never sees the Abort: the client stays in aborting
            return pair
        }
        pair.client.sendData([UInt8](repeating: 0, count: 10), now: pair.now)
        pair.client.finishUpload(digest: [UInt8](repeating: 0, count: 32), now: pair.now)
        pair.pump()
        return pair
    }

    func testClientUploadStatesRejectEveryUnexpectedMessage() throws {
        let allowed: [ClientStage: Set<MessageType>] = [
            .idle: [], .awaitingAccept: [.accepted, .uploadError], .sending: [.uploadError],
            .awaitingCommit: [.committed, .uploadError], .aborting: [.uploadError],
            .awaitingStat: [.statResult, .operationError], .awaitingList: [.listPage, .operationError],
            .awaitingGet: [.getHeader, .operationError], .receivingFile: [.getData, .getEnd, .operationError],
            .awaitingDelete: [.deleted, .operationError], .awaitingRename: [.statResult, .operationError],
            .awaitingVerify: [.verified, .operationError],
        ]
        var checked = 0
        for stage in ClientStage.allCases {
            for type in MessageType.allCases where !Self.connectionScope.contains(type) && !(allowed[stage]?.contains(type) ?? false) {
                var pair = try clientPair(at: stage)
                pair.server.injectForTesting(type, body: try Self.sampleBody(type))
                pair.client.receive(pair.server.takeOutput())
                pair.drainClient()
                XCTAssertEqual(pair.clientError?.alert, .unexpectedMessage, "\(type) in client upload stage \(stage)")
                XCTAssertTrue(pair.client.isClosed)
                checked += 1
            }
        }
        // 27 types in 12 stages; 21 allowed (2 + 1 + 2 + 1 in the upload's stages, 2 in each of the 6 awaiting a store
        // answer, 3 in receivingFile).
        XCTAssertEqual(checked, 12 * 27 - 21)
    }

    func testRotationMessagesOutOfTurnAreRejected() throws {
        // RotateReply and RotateCommit without a RotateInit.
        for type in [MessageType.rotateReply, .rotateCommit] {
            var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration())
            pair.pump()
            pair.client.injectForTesting(type, body: try Self.sampleBody(type))
            pair.pump()
            XCTAssertEqual(pair.serverError?.alert, .unexpectedMessage, "\(type)")
        }
        // A RotateInit for the wrong epoch.
        var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration())
        pair.pump()
        var encoder = WireEncoder()
        RotationShare(epoch: 5, share: [UInt8](repeating: 9, count: 32)).encode(into: &encoder)
        pair.client.injectForTesting(.rotateInit, body: encoder.bytes)
        pair.pump()
        XCTAssertEqual(pair.serverError?.alert, .illegalParameter)
    }

    func testAlertFromThePeerClosesWithoutAnAnswer() throws {
        var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration())
        pair.pump()
        pair.client.injectForTesting(.alert, body: try Self.sampleBody(.alert))
        pair.server.receive(pair.client.takeOutput())
        pair.drainServer()
        XCTAssertEqual(pair.serverError?.origin, .peer)
        XCTAssertEqual(pair.serverError?.alert, .internalError)
        XCTAssertTrue(pair.server.takeOutput().isEmpty, "an alert is never answered")
    }
}
