// The state machine targets (FuzzServerConnection, FuzzClientConnection): one side of a session, the target, fed
// what the fuzzer chooses, in memory, with a fixed clock.
//
// Input: setup ‖ mode-specific bytes. setup: bits 0-1 the cipher suite, 2-3 the group, 4-5 the hash, 6-7 the mode:
//   0     raw: the target as a stranger meets it, fed arbitrary bytes (chunked as byte 1 says: partial reads)
//         before any key exists; everything past the hellos would need keys, so this mode covers the plaintext part.
//   1-3   established: a genuine handshake in memory first (SessionPrototypes.swift), then policy byte ‖ ops
//         (SessionScript+Ops.swift): both sides' commands, deliveries in any order, and messages sealed by the peer
//         with its current keys (any type, any body) or raw bytes, all toward the target.
// Not reached: the handshake states after the hellos with arbitrary (sealed) messages. The decoders and checks
// they call are fuzzed on their own (FuzzHandshakeMessages); the transitions are StateInjectionTests'.
// Determinism: the clock only moves when an op says so; the handshake's randomness (shares, randoms, IVs) changes
// ciphertexts but no decision, so an input takes the same path every run.
@_spi(Fuzzing) import Protocol

public enum SessionFuzzer {
    public enum Target: Sendable { case server, client }

    @discardableResult
    public static func run(_ data: [UInt8], target: Target) -> SessionOutcome {
        var input = FuzzInput(data)
        let setup = SessionSetup(input.byte())
        guard setup.mode != 0 else { return runRaw(&input, setup: setup, target: target) }
        var script = SessionScript(SessionPrototypes.pair(setup: setup, policy: SessionPolicy(input.byte())), target: target)
        return script.run(&input)
    }

    /// Raw mode: byte 1 picks the chunking (0: all at once; n: pseudo-random chunks of 1…8n bytes), the rest is the
    /// stream the target receives.
    private static func runRaw(_ input: inout FuzzInput, setup: SessionSetup, target: Target) -> SessionOutcome {
        let chunking = input.byte()
        let stream = input.rest()
        var chunks = Chunks(seed: chunking, count: stream.count)
        var outcome = SessionOutcome()
        let now = FuzzPKI.start
        switch target {
        case .server:
            var server = ServerConnection(configuration: setup.serverConfiguration(preferences: .serverDefault))
            while let range = chunks.next() {
                server.receive(Array(stream[range]))
                do {
                    while let event = try server.nextEvent(now: now) { outcome.count(event) }
                } catch {
                    SessionScript.checkClosed(server.isClosed, error)
                    outcome.serverError = outcome.serverError ?? error
                }
                _ = server.takeOutput()
            }
        case .client:
            var preferences = AlgorithmPreferences.clientDefault
            preferences.groups = [setup.rawGroup]
            var client = setup.makeClient(preferences: preferences)
            _ = client.takeOutput()
            while let range = chunks.next() {
                client.receive(Array(stream[range]))
                do {
                    while let event = try client.nextEvent(now: now) { outcome.count(event) }
                } catch {
                    SessionScript.checkClosed(client.isClosed, error)
                    outcome.clientError = outcome.clientError ?? error
                }
                _ = client.takeOutput()
            }
        }
        return outcome
    }
}

/// The algorithms and mode the setup byte chooses, and the configurations made from them.
struct SessionSetup {
    let suite: CipherSuite
    /// The group of an established session.
    let group: KeyExchangeGroup
    /// The group a client offers in raw mode.
    let rawGroup: KeyExchangeGroup
    let hash: HashFunction
    let mode: UInt8
    /// What the established session depends on: the algorithms (the fourth hash index is sha256 again).
    let key: UInt8

    /// Established sessions: the cheap groups and the hybrid. Not ffdhe: its rotations cost about 10 ms of modular
    /// exponentiation each, which would halve the target's speed for a path all groups share; its share checks are
    /// fuzzed by KeyShares and by the raw mode, which offers it.
    static let groups: [KeyExchangeGroup] = [.x25519, .secp256r1, .x25519MLKEM768, .x25519]
    static let rawGroups: [KeyExchangeGroup] = [.x25519, .secp256r1, .x25519MLKEM768, .ffdhe2048]

    init(_ byte: UInt8) {
        suite = CipherSuite.allCases[Int(byte & 0x03) % CipherSuite.allCases.count]
        let groupIndex = Int(byte >> 2 & 0x03)
        group = Self.groups[groupIndex]
        rawGroup = Self.rawGroups[groupIndex]
        hash = [HashFunction.sha256, .sha384, .sha512, .sha256][Int(byte >> 4 & 0x03)]
        mode = byte >> 6
        let hashBits = byte >> 4 & 0x03
        key = byte & 0x03 | (groupIndex == 3 ? 0 : byte & 0x0C) | (hashBits == 3 ? 0 : hashBits << 4)
    }

    /// Only this setup's algorithms, so the negotiation has one outcome.
    var preferences: AlgorithmPreferences {
        AlgorithmPreferences(cipherSuites: [suite], groups: [group], hashes: [hash],
                             signatureSchemes: AlgorithmPreferences.serverDefault.signatureSchemes)
    }

    func serverConfiguration(preferences: AlgorithmPreferences, rotation: RotationPolicy = .none,
                             maxDataChunk: Int = Limits.maxDataChunk) -> ServerConfiguration {
        var configuration = ServerConfiguration(identity: FuzzPKI.server, clientTrust: FuzzPKI.sharedTrust)
        configuration.preferences = preferences
        configuration.rotation = rotation
        configuration.maxDataChunk = maxDataChunk
        return configuration
    }

    func makeClient(preferences: AlgorithmPreferences, rotation: RotationPolicy = .none) -> ClientConnection {
        var configuration = ClientConfiguration(identity: FuzzPKI.client, serverTrust: FuzzPKI.sharedTrust,
                                                serverName: FuzzPKI.serverName)
        configuration.preferences = preferences
        configuration.rotation = rotation
        do { return try ClientConnection(configuration: configuration) } catch {
            fatalError("a client could not build its ClientHello: \(error)")
        }
    }
}

/// Splits `count` bytes into ranges: all at once for seed 0, else pseudo-random lengths of 1…8·seed (SplitMix64).
struct Chunks {
    private var state: UInt64
    /// The longest chunk; nil: everything at once.
    private let maximum: UInt64?
    private let count: Int
    private var offset = 0

    init(seed: UInt8, count: Int) {
        state = UInt64(seed)
        maximum = seed == 0 ? nil : 8 * UInt64(seed)
        self.count = count
    }

    mutating func next() -> Range<Int>? {
        guard offset < count else { return nil }
        let length = maximum.map { 1 + Int(nextRandom() % $0) } ?? count
        let end = min(count, offset + length)
        defer { offset = end }
        return offset..<end
    }

    private mutating func nextRandom() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
