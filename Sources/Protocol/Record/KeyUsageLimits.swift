// How much one key may protect before it must be rotated (docs/PROTOCOL.md §7.4, with the arithmetic).
//
// Usage is counted in the unit the security bound is written in:
// - AES-GCM (draft-irtf-cfrg-aead-limits §5.1): confidentiality advantage ≤ (σ + q + 1)² / 2^129 for σ plaintext blocks
//   in q records. Counting σ + q as "blocks" (⌈n/16⌉ + 1 per record) and stopping at 2^34 keeps it ≤ 2^-61, a little
//   stricter than TLS 1.3's 2^-60 (RFC 8446 §5.5: 2^24.5 records of 2^14 bytes). 2^34 blocks ≈ 2^38 bytes = 256 GiB.
// - AES-256-CBC with random IVs: the birthday bound σ² / 2^128 on 128-bit blocks; the same 2^34 blocks gives ≤ 2^-60.
// - ChaCha20-Poly1305: no confidentiality limit below the nonce space (§5.2 of the draft); we cap at 2^60 records so the
//   64-bit sequence number can never wrap.
// Integrity limits (forgery attempts) do not apply: the first failed record closes the session, so a key never sees a
// second forgery attempt.

public enum KeyUsageLimits {
    /// AES block-equivalents (σ + q) per key for the AES suites.
    public static let aesBlocksPerKey: UInt64 = 1 << 34
    /// Records per key for ChaCha20-Poly1305.
    public static let chachaRecordsPerKey: UInt64 = 1 << 60

    /// Usage units one record of `plaintextLength` bytes costs under `suite`.
    static func units(_ suite: CipherSuite, plaintextLength: Int) -> UInt64 {
        switch suite {
        case .aes128GCM, .aes256GCM, .aes256CBCHMACSHA256: UInt64((plaintextLength + 15) / 16 + 1)
        case .chacha20Poly1305: 1
        }
    }

    /// The hard limit in usage units.
    static func hardLimit(_ suite: CipherSuite) -> UInt64 {
        suite == .chacha20Poly1305 ? chachaRecordsPerKey : aesBlocksPerKey
    }

    /// The hard limit expressed in plaintext bytes sent in full-size records: the largest `rotate_after_bytes` that
    /// makes sense for `suite`. Configuration above it is refused.
    public static func maxRotateAfterBytes(_ suite: CipherSuite) -> UInt64 {
        switch suite {
        case .chacha20Poly1305: return UInt64.max / 2
        case .aes128GCM, .aes256GCM, .aes256CBCHMACSHA256:
            let perRecord = UInt64(Limits.maxMessageLength)
            return aesBlocksPerKey / units(suite, plaintextLength: Limits.maxMessageLength) * perRecord
        }
    }

    /// A sender starts a rotation at this fraction of the hard limit even when no policy asks earlier, and stops
    /// sending application data at the limit itself until the rotation completes (one round trip later).
    static func softLimit(_ suite: CipherSuite) -> UInt64 { hardLimit(suite) / 4 * 3 }
}

/// When to rotate: the caller's policy, combined with the peer's announced policy by taking the stricter of each.
public struct RotationPolicy: Sendable, Equatable {
    /// Rotate after this many plaintext bytes under one key; nil = only the hard limit.
    public var afterBytes: UInt64?
    /// Rotate after this many seconds under one key (if anything was sent under it); nil = never on time.
    public var afterSeconds: UInt64?

    public init(afterBytes: UInt64? = nil, afterSeconds: UInt64? = nil) {
        self.afterBytes = afterBytes.flatMap { $0 == 0 ? nil : $0 }
        self.afterSeconds = afterSeconds.flatMap { $0 == 0 ? nil : $0 }
    }

    public static let none = RotationPolicy()

    /// The stricter of two policies, setting by setting.
    public func stricter(_ other: RotationPolicy) -> RotationPolicy {
        func minimum(_ a: UInt64?, _ b: UInt64?) -> UInt64? {
            switch (a, b) {
            case let (a?, b?): Swift.min(a, b)
            case let (a?, nil): a
            case let (nil, b): b
            }
        }
        return RotationPolicy(afterBytes: minimum(afterBytes, other.afterBytes), afterSeconds: minimum(afterSeconds, other.afterSeconds))
    }
}
