// The record layer target (FuzzRecordLayer): framing, limits, plaintext rules and opening (docs/PROTOCOL.md §5) on
// a stream of arbitrary bytes, of records sealed under the installed keys, and of both mixed.
//
// Input: setup ‖ op*. setup: bits 0-2 the cipher suite (4-7: no keys, before the handshake keys exist), bit 3
// authenticated (the large limit, no plaintext alerts), bit 4 the hash, bit 5 a room for Data bodies (the daemon's
// decrypt-into-the-upload-buffer path). Each op appends bytes in one of the ways a session receives them, or drains.
//
// Oracle: while the stream holds only whole records the harness wrote itself (no raw bytes, no corruption), the
// record layer must hand back exactly those messages, in order, or fail exactly where §5.1 says a record fails
// (too long, a plaintext record or message type it must refuse). Any other stream must only never crash.
@_spi(Fuzzing) import Protocol

public enum RecordLayerFuzzer {
    enum Op: UInt8, CaseIterable {
        case appendRaw, receiveRawInPlace, sealed, sealedInPlace, sealedCorrupted, plaintext, drain
    }

    public static func run(_ data: [UInt8]) {
        var input = FuzzInput(data)
        let setup = input.byte()
        var room = [UInt8](repeating: 0, count: setup & 0x20 != 0 ? Limits.maxDataChunk : 0)
        room.withUnsafeMutableBytes { room in
            var harness = Harness(setup: setup, room: room.isEmpty ? nil : room)
            while !input.isExhausted, !harness.failed {
                guard let op = Op(rawValue: input.byte() % UInt8(Op.allCases.count)) else { continue }
                harness.perform(op, &input)
            }
            harness.drain()
        }
    }

    private struct Harness {
        var records = FuzzingRecordLayer()
        let authenticated: Bool
        let room: UnsafeMutableRawBufferPointer?
        /// What the next records must come out as, while the stream is pristine.
        var expected: [Expectation] = []
        var pristine = true
        var failed = false

        enum Expectation {
            case message(typeByte: UInt8, body: [UInt8])
            case failure(AlertCode)
        }

        init(setup: UInt8, room: UnsafeMutableRawBufferPointer?) {
            authenticated = setup & 0x08 != 0
            if setup & 0x04 == 0 {
                let suite = CipherSuite.allCases[Int(setup & 0x03) % CipherSuite.allCases.count]
                let hash: HashFunction = setup & 0x10 == 0 ? .sha256 : .sha384
                let secret = [UInt8](repeating: 0x42, count: hash.outputLength)
                do { try records.installKeys(suite: suite, hash: hash, secret: secret) } catch {
                    fatalError("installing \(suite.name) keys: \(error)")
                }
            }
            if authenticated { records.authenticate() }
            self.room = room
        }

        mutating func perform(_ op: Op, _ input: inout FuzzInput) {
            switch op {
            case .appendRaw, .receiveRawInPlace:
                let bytes = input.bytes(Int(input.u16() % 16_385))
                pristine = false
                if op == .appendRaw {
                    records.append(bytes)
                } else {
                    records.receiveInPlace(bytes, preferredCapacity: Int(input.byte()) * 1024)
                }
            case .sealed, .sealedInPlace, .sealedCorrupted:
                let typeByte = input.byte()
                let body = input.paddedBytes(Int(input.u16()))
                guard var record = records.seal(typeByte: typeByte, body: body, inPlace: op == .sealedInPlace) else {
                    return  // no keys, or longer than any message
                }
                if op == .sealedCorrupted {
                    record[Int(input.u16()) % record.count] ^= input.byte() | 1
                    pristine = false
                }
                expect(typeByte: typeByte, body: body, recordBody: record.count - Limits.recordHeaderLength, sealed: true)
                records.append(record)
            case .plaintext:
                let typeByte = input.byte()
                let body = input.paddedBytes(Int(input.u16() % 9_000))
                let length = 1 + body.count
                expect(typeByte: typeByte, body: body, recordBody: length, sealed: false)
                records.append([0x01] + (0..<4).map { UInt8(truncatingIfNeeded: length >> (24 - 8 * $0)) } + [typeByte] + body)
            case .drain:
                drain()
                if !failed { records.releaseIdleBuffers() }
            }
        }

        /// What §5.1 says becomes of this record.
        mutating func expect(typeByte: UInt8, body: [UInt8], recordBody: Int, sealed: Bool) {
            let accepted: Bool
            if recordBody > records.maxInboundBody {
                expected.append(.failure(.recordOverflow))
                return
            } else if sealed {
                accepted = Self.knownTypes.contains(typeByte)
            } else if records.hasKeys {
                accepted = !authenticated && typeByte == Self.alert  // a peer's alert before it has keys
            } else {
                accepted = Self.plaintextTypes.contains(typeByte)
            }
            expected.append(accepted ? .message(typeByte: typeByte, body: body) : .failure(.unexpectedMessage))
        }

        mutating func drain() {
            while !failed {
                do {
                    guard let (typeByte, body) = try records.next(dataInto: room) else { return }
                    check(typeByte: typeByte, body: body)
                } catch {
                    failed = true
                    guard pristine else { return }
                    guard case .failure(let alert) = expected.first, alert == error.alert else {
                        fatalError("pristine stream: record failed with \(error), expected \(String(describing: expected.first))")
                    }
                }
            }
        }

        private mutating func check(typeByte: UInt8, body: FuzzingRecordLayer.Body) {
            guard pristine else { return }
            guard case .message(let expectedType, let expectedBody) = expected.first else {
                fatalError("pristine stream: got message 0x\(String(typeByte, radix: 16)), "
                    + "expected \(String(describing: expected.first))")
            }
            expected.removeFirst()
            let received: [UInt8] = switch body {
            case .inline(let bytes): bytes
            case .moved(let length): room.map { Array($0[..<length]) } ?? []
            }
            guard typeByte == expectedType, received == expectedBody else {
                fatalError("pristine stream: message 0x\(String(typeByte, radix: 16)) of \(received.count) bytes differs from "
                    + "the one sealed (0x\(String(expectedType, radix: 16)), \(expectedBody.count) bytes)")
            }
            if case .moved = body, typeByte != Self.data { fatalError("a non-Data body was moved") }
        }

        static let data: UInt8 = 0x22
        static let alert: UInt8 = 0x10
        /// Every message type of §3, and those that may travel in a plaintext record.
        static let knownTypes: Set<UInt8> = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
                                             0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26,
                                             0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x3B, 0x3C,
                                             0x3D]  // §3, the store's (§14) too
        static let plaintextTypes: Set<UInt8> = [0x01, 0x02, 0x10]
    }
}
