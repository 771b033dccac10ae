// What a rotation reports to the caller (one log line per rotation, per-session counts).

public struct RotationEvent: Sendable, Equatable {
    public enum Direction: Sendable, Equatable {
        /// Our sending keys were replaced.
        case send
        /// The peer's sending keys (our receiving keys) were replaced.
        case receive
    }

    public enum Reason: Sendable, Equatable {
        /// `RotationPolicy.afterBytes` reached.
        case bytes
        /// `RotationPolicy.afterSeconds` reached.
        case time
        /// Three quarters of the AEAD usage limit reached (KeyUsageLimits).
        case usageLimit
        /// The peer sent RotateRequest.
        case peerRequest
        /// The caller asked (`rotateNow`).
        case caller
        /// The peer rotated its sending direction (its reason is not on the wire).
        case peer
    }

    public let direction: Direction
    /// The epoch now in force for that direction (1 after the first rotation).
    public let epoch: UInt32
    /// Plaintext bytes and seconds under the replaced keys.
    public let bytesUnderOldKeys: UInt64
    public let secondsUnderOldKeys: Double
    public let reason: Reason
}
