// Established sessions, each made once per process by a genuine handshake in memory, and copied for every input
// that starts from one (`freshCopyForFuzzing`). A handshake under ASan and coverage instrumentation costs 7–13 ms;
// a copy costs a key derivation per direction, so the session targets run tens of times faster and the long run's
// ten million inputs per target take hours rather than days. An input's path does not depend on whether its session
// was just made or copied: the copy is the state the handshake left (same secrets and parameters, keys unused), with
// the rotation policies and Data chunk limit of the input's policy byte, which the handshake only carries from the
// configurations into the parameters (ServerParameters, ClientHandshake.finish).
//
// LeakSanitizer cannot follow every pointer inside a live session: Swift keeps an enum's case in the spare bits of a
// class reference (TrafficKeys' CBC cipher is `.cbcHMAC(object)`, a tagged pointer), so the objects behind such
// references look unreachable, and every leak check (libFuzzer runs one after an input that allocated more than it
// freed) would report the prototypes as leaked. Each prototype therefore also holds a plain reference to every object
// of its graph (found by reflection), and the prototypes are freed at exit, before LeakSanitizer's final check.
// `prepare()` makes them all before the first input, so no input's coverage depends on whether it made one.
@_spi(Fuzzing) import Protocol
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

public enum SessionPrototypes {
    /// One established pair, never mutated once made (only copied), so it may be read from any thread.
    private final class Prototype: @unchecked Sendable {
        let client: ClientConnection
        let server: ServerConnection
        /// Every object the pair references, held where LeakSanitizer can see the pointers.
        let objects: [AnyObject]

        init(client: ClientConnection, server: ServerConnection) {
            self.client = client
            self.server = server
            var objects: [ObjectIdentifier: AnyObject] = [:]
            Self.collectObjects(in: client, into: &objects)
            Self.collectObjects(in: server, into: &objects)
            self.objects = Array(objects.values)
        }

        private static func collectObjects(in value: Any, into objects: inout [ObjectIdentifier: AnyObject]) {
            let mirror = Mirror(reflecting: value)
            if mirror.displayStyle == .class {
                let object = value as AnyObject
                guard objects.updateValue(object, forKey: ObjectIdentifier(object)) == nil else { return }
            }
            for child in mirror.children { collectObjects(in: child.value, into: &objects) }
            var superclass = mirror.superclassMirror
            while let parent = superclass {
                for child in parent.children { collectObjects(in: child.value, into: &objects) }
                superclass = parent.superclassMirror
            }
        }
    }

    /// By setup key. A lock, though libFuzzer runs one input at a time: the regression tests may not.
    private static let made: Mutex<[UInt8: Prototype]> = {
        atexit { SessionPrototypes.made.withLock { $0 = [:] } }
        return Mutex([:])
    }()

    /// Makes every prototype (about 0.5 s): call before the fuzzer's first input.
    public static func prepare() {
        for byte in UInt8(0)...0x3F { _ = prototype(SessionSetup(byte)) }
    }

    /// Copies of the established pair for this setup, as agreed under this policy.
    static func pair(setup: SessionSetup, policy: SessionPolicy) -> (client: ClientConnection, server: ServerConnection) {
        let prototype = prototype(setup)
        guard let client = prototype.client.freshCopyForFuzzing(rotation: policy.clientRotation, serverRotation: policy.rotation,
                                                                maxDataChunk: policy.maxDataChunk),
              let server = prototype.server.freshCopyForFuzzing(rotation: policy.rotation, maxDataChunk: policy.maxDataChunk) else {
            fatalError("an established session could not be copied")
        }
        return (client, server)
    }

    private static func prototype(_ setup: SessionSetup) -> Prototype {
        made.withLock { made in
            if let known = made[setup.key] { return known }
            let (client, server) = handshake(setup: setup)
            let prototype = Prototype(client: client, server: server)
            made[setup.key] = prototype
            return prototype
        }
    }

    /// The genuine handshake, every byte delivered and every event drained.
    private static func handshake(setup: SessionSetup) -> (client: ClientConnection, server: ServerConnection) {
        var server = ServerConnection(configuration: setup.serverConfiguration(preferences: setup.preferences))
        var client = setup.makeClient(preferences: setup.preferences)
        let now = FuzzPKI.start
        do {
            server.receive(client.takeOutput())
            while try server.nextEvent(now: now) != nil {}
            client.receive(server.takeOutput())
            while try client.nextEvent(now: now) != nil {}
            server.receive(client.takeOutput())
            while try server.nextEvent(now: now) != nil {}
        } catch {
            fatalError("the genuine handshake failed: \(error)")
        }
        guard client.isEstablished, server.isEstablished, client.takeOutput().isEmpty, server.takeOutput().isEmpty else {
            fatalError("the genuine handshake did not complete")
        }
        return (client, server)
    }
}

/// The policy byte of an established-mode input: what the handshake announces and agrees.
struct SessionPolicy {
    /// Server: maxDataChunk 1024 << bits 0-1 (×4); rotation after bits 2-3 bytes (none, 4 KiB, 64 KiB, 1 MiB) and,
    /// with bit 4, after 2 s; bit 5: the client has the same policy of its own (else none: it follows the server's).
    let maxDataChunk: Int
    let rotation: RotationPolicy
    let clientRotation: RotationPolicy

    init(_ byte: UInt8) {
        maxDataChunk = 1024 << (2 * Int(byte & 0x03))
        rotation = RotationPolicy(afterBytes: [0, 4096, 65_536, 1 << 20][Int(byte >> 2 & 0x03)],
                                  afterSeconds: byte & 0x10 != 0 ? 2 : 0)
        clientRotation = byte & 0x20 != 0 ? rotation : .none
    }
}
