// Handshake message bodies and their codecs (docs/PROTOCOL.md §6.2–6.7).

/// One key share: a group and its public value.
struct KeyShareEntry: Equatable {
    var group: UInt16
    var share: [UInt8]
}

/// An extension: opaque to v1, which sends none and ignores unknown ones (RFC 8446 §4.2). They are in the transcript.
struct ExtensionEntry: Equatable {
    var type: UInt16
    var data: [UInt8]
}

enum Extensions {
    static func encode(_ entries: [ExtensionEntry], into encoder: inout WireEncoder) {
        var inner = WireEncoder()
        for entry in entries {
            inner.u16(entry.type)
            inner.vector16(entry.data)
        }
        encoder.vector16(inner.bytes)
    }

    static func decode(_ decoder: inout WireDecoder) throws(ProtocolError) -> [ExtensionEntry] {
        let block = try decoder.vector16(max: Limits.maxExtensionsLength)
        var inner = WireDecoder(block[...])
        var entries: [ExtensionEntry] = []
        while inner.remaining > 0 {
            let type = try inner.u16()
            let data = try inner.vector16(max: Limits.maxExtensionsLength)
            guard !entries.contains(where: { $0.type == type }) else { throw .decode("duplicate extension \(type)") }
            entries.append(ExtensionEntry(type: type, data: data))
        }
        return entries
    }
}

/// ClientHello (plaintext): what the client speaks, in its order of preference, and one key share per offered group.
struct ClientHello: Equatable {
    var versions: [UInt16]
    var random: [UInt8]
    var cipherSuites: [UInt16]
    var groups: [UInt16]
    var hashes: [UInt16]
    var signatureSchemes: [UInt16]
    /// Exactly one per entry of `groups`, in the same order.
    var keyShares: [KeyShareEntry]
    var extensions: [ExtensionEntry] = []

    func encode(into encoder: inout WireEncoder) {
        encoder.codePoints(versions)
        encoder.raw(random)
        encoder.codePoints(cipherSuites)
        encoder.codePoints(groups)
        encoder.codePoints(hashes)
        encoder.codePoints(signatureSchemes)
        encoder.u8(UInt8(keyShares.count))
        for entry in keyShares {
            encoder.u16(entry.group)
            encoder.vector16(entry.share)
        }
        Extensions.encode(extensions, into: &encoder)
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> ClientHello {
        var decoder = WireDecoder(body)
        let max = Limits.maxOfferedAlgorithms
        let versions = try decoder.codePoints(max: max)
        let random = try decoder.raw(Limits.randomLength)
        let suites = try decoder.codePoints(max: max)
        let groups = try decoder.codePoints(max: max)
        let hashes = try decoder.codePoints(max: max)
        let schemes = try decoder.codePoints(max: max)
        let shareCount = Int(try decoder.u8())
        guard shareCount == groups.count else { throw .illegal("\(shareCount) key shares for \(groups.count) groups") }
        var shares: [KeyShareEntry] = []
        for group in groups {
            let entryGroup = try decoder.u16()
            guard entryGroup == group else { throw .illegal("key shares are not in the order of the offered groups") }
            shares.append(KeyShareEntry(group: entryGroup, share: try decoder.vector16(min: 1, max: Limits.maxKeyShareLength)))
        }
        let extensions = try Extensions.decode(&decoder)
        try decoder.finish()
        for list in [versions, suites, groups, hashes, schemes] where Set(list).count != list.count {
            throw .illegal("an offered list repeats an entry")
        }
        return ClientHello(versions: versions, random: random, cipherSuites: suites, groups: groups, hashes: hashes,
                           signatureSchemes: schemes, keyShares: shares, extensions: extensions)
    }
}

/// ServerHello (plaintext): the server's choices, the schemes it accepts for the client's CertificateVerify, its share.
struct ServerHello: Equatable {
    var version: UInt16
    var random: [UInt8]
    var cipherSuite: UInt16
    var group: UInt16
    var hash: UInt16
    /// Signature schemes the server accepts from the client, in the server's preference (TLS: CertificateRequest).
    var clientSignatureSchemes: [UInt16]
    var keyShare: [UInt8]
    var extensions: [ExtensionEntry] = []

    func encode(into encoder: inout WireEncoder) {
        encoder.u16(version)
        encoder.raw(random)
        encoder.u16(cipherSuite)
        encoder.u16(group)
        encoder.u16(hash)
        encoder.codePoints(clientSignatureSchemes)
        encoder.vector16(keyShare)
        Extensions.encode(extensions, into: &encoder)
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> ServerHello {
        var decoder = WireDecoder(body)
        let hello = ServerHello(
            version: try decoder.u16(), random: try decoder.raw(Limits.randomLength), cipherSuite: try decoder.u16(),
            group: try decoder.u16(), hash: try decoder.u16(),
            clientSignatureSchemes: try decoder.codePoints(max: Limits.maxOfferedAlgorithms),
            keyShare: try decoder.vector16(min: 1, max: Limits.maxKeyShareLength),
            extensions: try Extensions.decode(&decoder))
        try decoder.finish()
        return hello
    }
}

/// ServerParameters (first encrypted message, like TLS EncryptedExtensions): the server's session policy.
struct ServerParameters: Equatable {
    /// The server's rotation threshold for both directions, bytes under one key (0 = none beyond the hard limits).
    var rotateAfterBytes: UInt64
    /// The server's rotation threshold in seconds (0 = none).
    var rotateAfterSeconds: UInt32
    /// Largest Data chunk the server accepts (≤ Limits.maxDataChunk).
    var maxDataChunk: UInt32
    var extensions: [ExtensionEntry] = []

    func encode(into encoder: inout WireEncoder) {
        encoder.u64(rotateAfterBytes)
        encoder.u32(rotateAfterSeconds)
        encoder.u32(maxDataChunk)
        Extensions.encode(extensions, into: &encoder)
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> ServerParameters {
        var decoder = WireDecoder(body)
        let parameters = ServerParameters(rotateAfterBytes: try decoder.u64(), rotateAfterSeconds: try decoder.u32(),
                                          maxDataChunk: try decoder.u32(), extensions: try Extensions.decode(&decoder))
        try decoder.finish()
        guard parameters.maxDataChunk >= 1024, parameters.maxDataChunk <= UInt32(Limits.maxDataChunk) else {
            throw .illegal("max data chunk \(parameters.maxDataChunk) outside 1024...\(Limits.maxDataChunk)")
        }
        return parameters
    }
}

/// Certificate: the sender's chain, leaf first, DER.
struct CertificateMessage: Equatable {
    var chain: [[UInt8]]

    func encode(into encoder: inout WireEncoder) {
        encoder.u8(UInt8(chain.count))
        for der in chain { encoder.vector16(der) }
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> CertificateMessage {
        var decoder = WireDecoder(body)
        let count = Int(try decoder.u8())
        guard count >= 1, count <= Limits.maxCertificateChainLength else {
            throw .decode("certificate chain of \(count) outside 1...\(Limits.maxCertificateChainLength)")
        }
        var chain: [[UInt8]] = []
        for _ in 0..<count { chain.append(try decoder.vector16(min: 1, max: Limits.maxCertificateLength)) }
        try decoder.finish()
        return CertificateMessage(chain: chain)
    }
}

/// CertificateVerify: a signature over the transcript with a role-specific context string (§6.6).
struct CertificateVerify: Equatable {
    var scheme: UInt16
    var signature: [UInt8]

    func encode(into encoder: inout WireEncoder) {
        encoder.u16(scheme)
        encoder.vector16(signature)
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> CertificateVerify {
        var decoder = WireDecoder(body)
        let message = CertificateVerify(scheme: try decoder.u16(),
                                        signature: try decoder.vector16(min: 1, max: Limits.maxSignatureLength))
        try decoder.finish()
        return message
    }
}

/// Finished: HMAC of the transcript under the sender's finished key (§6.7).
struct Finished: Equatable {
    var verifyData: [UInt8]

    func encode(into encoder: inout WireEncoder) { encoder.raw(verifyData) }

    static func decode(_ body: ArraySlice<UInt8>, hash: HashFunction) throws(ProtocolError) -> Finished {
        var decoder = WireDecoder(body)
        let message = Finished(verifyData: try decoder.raw(hash.outputLength))
        try decoder.finish()
        return message
    }
}
