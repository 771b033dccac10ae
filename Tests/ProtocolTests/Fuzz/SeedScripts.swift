// Session inputs for the established mode (SessionScript): the recorded conversations replayed toward one side, the
// other side's messages injected as they were on the wire; and short genuine sessions — each an upload story or a
// crossing of messages — whose outcome the generator checks (`Genuine.expected`).
import Foundation
@testable @_spi(Fuzzing) import Protocol
@testable import FuzzSupport

enum SeedScripts {
    /// SessionPolicy's byte for a story's server configuration.
    static func policy(_ story: RecordedStory) -> UInt8 {
        let chunk: UInt8 = switch story.maxDataChunk {
        case ...1024: 0
        case ...4096: 1
        case ...16_384: 2
        default: 3
        }
        let bytes: UInt8 = switch story.rotation.afterBytes ?? 0 {
        case 0: 0
        case ...4096: 1
        case ...65_536: 2
        default: 3
        }
        return chunk | bytes << 2 | (story.rotation.afterSeconds != nil ? 0x10 : 0)
    }

    /// The client's messages injected into a server, and the daemon's recorded answers as its decisions. Nothing goes
    /// to the genuine client, which knows nothing of these uploads (its keys seal the injections).
    static func replayTowardServer(_ session: SessionRecorder, _ story: RecordedStory) -> [UInt8] {
        var seed = SessionSeed(suite: story.suite, group: story.group, hash: story.hash, policy: policy(story))
        var deciding = false
        for message in session.messages where message.sealed && message.typeByte >= 0x11 && seed.bytes.count < 6000 {
            guard let type = MessageType(rawValue: message.typeByte) else { continue }
            switch (message.direction, type) {
            case (_, .rotateInit), (_, .rotateReply), (_, .rotateCommit):
                continue  // a rotation the genuine client did not make would leave it sealing under the old keys
            case (.toServer, _):
                seed.inject(typeByte: message.typeByte, body: message.body)
                seed.deliverToServer(room: message.body.count % 2 == 0)
                deciding = type == .open
            case (.toClient, .accepted):
                let offset = (try? AcceptedMessage.decode(message.body[...]))?.offset ?? 0
                seed.serverDecide(offset == 0 ? .accept : .acceptAt(UInt32(clamping: offset)))
                deciding = false
            case (.toClient, .committed):
                seed.serverDecide(deciding ? .alreadyStored : .commit)
                deciding = false
            case (.toClient, .uploadError):
                if (try? UploadFailure.decode(message.body[...]))?.code != .aborted { seed.serverDecide(deciding ? .reject : .fail) }
                deciding = false
            case (.toClient, _):
                continue
            }
        }
        return seed.bytes
    }

    /// The server's messages injected into a client, and the client's recorded messages as its own commands.
    static func replayTowardClient(_ session: SessionRecorder, _ story: RecordedStory) -> [UInt8] {
        var seed = SessionSeed(suite: story.suite, group: story.group, hash: story.hash, policy: policy(story))
        for message in session.messages where message.sealed && message.typeByte >= 0x11 && seed.bytes.count < 6000 {
            guard let type = MessageType(rawValue: message.typeByte) else { continue }
            let body = message.body[...]
            switch (message.direction, type) {
            case (_, .rotateInit), (_, .rotateReply), (_, .rotateCommit):
                continue
            case (.toServer, .open):
                guard let request = try? UploadRequest.decode(body), request.size <= UInt64(UInt16.max) else { continue }
                seed.startUpload(path: request.path, size: UInt16(request.size), overwrite: request.overwrite,
                                 digest: request.expectedDigest)
            case (.toServer, .data):
                seed.sendData(UInt16(clamping: message.body.count), inPlace: message.body.count % 2 == 1)
            case (.toServer, .close):
                seed.finishUpload(digest: message.body)
            case (.toServer, .abort):
                seed.abortUpload()
            case (.toServer, _):
                continue
            case (.toClient, _):
                seed.inject(typeByte: message.typeByte, body: message.body)
            }
        }
        return seed.bytes
    }

    /// A short genuine session, and what it must do: it is a seed for both session targets.
    struct Genuine {
        let name: String
        let bytes: [UInt8]
        let expected: (SessionOutcome) -> Bool
    }

    static func genuine(suite: CipherSuite, group: KeyExchangeGroup, hash: HashFunction) -> [Genuine] {
        func session(_ policy: UInt8, _ build: (inout SessionSeed) -> Void) -> [UInt8] {
            var seed = SessionSeed(suite: suite, group: group, hash: hash, policy: policy)
            build(&seed)
            return seed.bytes
        }
        let digest = [UInt8](repeating: 0x3C, count: 32)
        return [
            Genuine(name: "upload committed", bytes: session(0x04) { seed in
                seed.startUpload(path: "docs/a.txt", size: 3000)
                seed.deliverBoth()
                seed.serverDecide(.accept)
                seed.deliverToClient()
                for length: UInt16 in [1024, 1024, 952] {
                    seed.sendData(length, inPlace: length == 1024)
                    seed.deliverToServer(room: true)
                }
                seed.finishUpload()
                seed.deliverToServer()
                seed.serverDecide(.commit)
                seed.deliverToClient()
            }, expected: { $0.committed == 1 && $0.dataChunks == 3 && $0.rotations == 0 }),
            Genuine(name: "already stored, then refused", bytes: session(0x03) { seed in
                seed.startUpload(path: "kept.bin", size: 2000, digest: digest)
                seed.deliverToServer()
                seed.serverDecide(.alreadyStored)
                seed.deliverToClient()
                seed.startUpload(path: "../escape", size: 10)
                seed.deliverToServer()
                seed.serverDecide(.reject)
                seed.deliverToClient()
            }, expected: { $0.alreadyStored == 1 && $0.uploadFailures == 1 }),
            Genuine(name: "resumed at an offset", bytes: session(0x03) { seed in
                seed.startUpload(path: "resumed.bin", size: 5000)
                seed.deliverToServer()
                seed.serverDecide(.acceptAt(4000))
                seed.deliverToClient()
                seed.sendData(1000)
                seed.finishUpload()
                seed.deliverToServer()
                seed.serverDecide(.commit)
                seed.deliverToClient()
            }, expected: { $0.committed == 1 && $0.dataChunks == 1 }),
            Genuine(name: "a failure crosses the client's Abort", bytes: session(0x00) { seed in
                seed.startUpload(path: "crossed.bin", size: 4096)
                seed.deliverToServer()
                seed.serverDecide(.accept)
                seed.deliverToClient()
                seed.sendData(1024)
                seed.deliverToServer()
                seed.serverDecide(.fail)
                seed.abortUpload()
                seed.deliverBoth()
                seed.deliverBoth()
                seed.startUpload(path: "next.bin", size: 0)
                seed.deliverToServer()
                seed.serverDecide(.accept)
                seed.deliverToClient()
                seed.finishUpload()
                seed.deliverToServer()
                seed.serverDecide(.commit)
                seed.deliverToClient()
            }, expected: { $0.committed == 1 && $0.dataChunks == 1 }),  // the client reports no failure: it aborted first
            Genuine(name: "rotations cross, on request, volume and time", bytes: session(0x14) { seed in
                seed.clientRotate()
                seed.serverRotate()
                seed.deliverBoth()
                seed.deliverBoth()
                seed.startUpload(path: "big.bin", size: 12_000)
                seed.deliverBoth()
                seed.serverDecide(.accept)
                seed.deliverToClient()
                for _ in 0..<12 {
                    seed.sendData(1000)
                    seed.deliverBoth()
                }
                seed.advanceTime(seconds: 3)
                seed.deliverBoth()
                seed.deliverBoth()
            }, expected: { $0.rotations >= 4 && $0.dataChunks == 12 }),
            Genuine(name: "goodbye", bytes: session(0x00) { seed in
                seed.releaseBuffers()
                seed.goodbye(fromClient: true)
                seed.deliverToServer()
            }, expected: { $0.peerClosed == 1 }),
        ]
    }
}
