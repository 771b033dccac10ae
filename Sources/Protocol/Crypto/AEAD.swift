// AES-GCM and ChaCha20-Poly1305 (RFC 8439) through EVP_CIPHER_CTX. One context per direction and epoch, reused for
// every record: the key schedule is set once in init, each record only sets the nonce. No call allocates.
internal import COpenSSL

final class AEADCipher {
    enum Algorithm: Sendable {
        case aes128GCM, aes256GCM, chacha20Poly1305

        var keyLength: Int { self == .aes128GCM ? 16 : 32 }

        /// Static EVP_CIPHER objects; EVP_CipherInit_ex fetches the provider implementation once, in init.
        fileprivate var evpCipher: OpaquePointer? {
            switch self {
            case .aes128GCM: EVP_aes_128_gcm()
            case .aes256GCM: EVP_aes_256_gcm()
            case .chacha20Poly1305: EVP_chacha20_poly1305()
            }
        }
    }

    /// Only 96-bit nonces (RFC 5116 §5.1, RFC 8439 §2.8): GCM with other lengths takes a different, GHASH-derived
    /// counter path that Ferry never needs.
    static let nonceLength = 12
    /// Only full 128-bit tags; truncated tags are refused.
    static let tagLength = 16

    let algorithm: Algorithm
    let encrypting: Bool
    private let context: OpaquePointer  // EVP_CIPHER_CTX, owned; holds the expanded key, cleared by EVP_CIPHER_CTX_free
    private let spareOutput = UnsafeMutablePointer<UInt8>.allocate(capacity: AEADCipher.tagLength)

    /// Throws `.malformedInput` when `key.count` is not the algorithm's key length.
    init(_ algorithm: Algorithm, key: SecretBytes, encrypting: Bool) throws(CryptoError) {
        self.algorithm = algorithm
        self.encrypting = encrypting
        guard key.count == algorithm.keyLength else {
            throw CryptoError(.malformedInput, "\(algorithm) key of \(key.count) bytes")
        }
        let cipher = try check(algorithm.evpCipher, "EVP_CIPHER")
        let context = try check(EVP_CIPHER_CTX_new(), "EVP_CIPHER_CTX_new")
        let direction: Int32 = encrypting ? 1 : 0
        do throws(CryptoError) {
            // Cipher first, then the nonce length, then the key: the order EVP_EncryptInit(3) prescribes for AEADs.
            try check(EVP_CipherInit_ex(context, cipher, nil, nil, nil, direction), "EVP_CipherInit_ex")
            try check(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_IVLEN, Int32(Self.nonceLength), nil),
                      "EVP_CTRL_AEAD_SET_IVLEN")
            try key.withUnsafeBytes { (key) throws(CryptoError) in
                try check(EVP_CipherInit_ex(context, nil, nil, nonNullBase(key), nil, direction), "EVP_CipherInit_ex")
            }
        } catch {
            EVP_CIPHER_CTX_free(context)
            throw error
        }
        self.context = context
    }

    deinit {
        EVP_CIPHER_CTX_free(context)
        spareOutput.deallocate()
    }

    /// Encrypts `plaintext` and writes ciphertext ‖ tag to `output` (exactly plaintext.count + 16 bytes).
    /// `output` may start at the same address as `plaintext` (in place). Nonce must be 12 bytes; another length throws
    /// `.malformedInput` (the record layer builds nonces itself, so this only fires in tests).
    func seal(nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer, plaintext: UnsafeRawBufferPointer,
              output: UnsafeMutableRawBufferPointer) throws(CryptoError) {
        try seal(nonce: nonce, aad: aad, plaintext: UnsafeRawBufferPointer(start: nil, count: 0), plaintext, output: output)
    }

    /// `seal` of the plaintext `first ‖ second`, read from two places: a record's type byte and its body, which the
    /// client seals straight from the file's block into the socket's buffer, so nothing is copied to make them
    /// contiguous. `output` is exactly first.count + second.count + 16 bytes; it may start at `second`'s address when
    /// `first` is empty (in place, as the one-part `seal` uses it), otherwise it must not overlap either part.
    func seal(nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer, plaintext first: UnsafeRawBufferPointer,
              _ second: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) throws(CryptoError) {
        precondition(encrypting, "seal on an AEADCipher made for opening")
        guard nonce.count == Self.nonceLength else { throw CryptoError(.malformedInput, "nonce of \(nonce.count) bytes") }
        let plaintextLength = first.count + second.count
        precondition(output.count == plaintextLength + Self.tagLength,
                     "seal output of \(output.count) bytes for \(plaintextLength) bytes of plaintext")
        let out = base(output)
        try start(nonce: nonce, aad: aad, kind: .library)
        // GCM and ChaCha20-Poly1305 are stream modes: each update writes as many bytes as it reads, at any length.
        var written = try crypt(first, into: out, kind: .library)
        written += try crypt(second, into: out + written, kind: .library)
        var finalLength: Int32 = 0
        try check(EVP_CipherFinal_ex(context, out + written, &finalLength), "EVP_CipherFinal_ex")
        precondition(written + Int(finalLength) == plaintextLength, "AEAD wrote \(written + Int(finalLength)) bytes")
        try check(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, Int32(Self.tagLength), out + plaintextLength),
                  "EVP_CTRL_AEAD_GET_TAG")
    }

    /// Verifies and decrypts ciphertext ‖ tag into `output` (exactly ciphertextAndTag.count − 16 bytes; in place allowed).
    /// Any failure, including a short input, throws `.authenticationFailure`; `output` is then zeroed.
    func open(nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer, ciphertextAndTag: UnsafeRawBufferPointer,
              output: UnsafeMutableRawBufferPointer) throws(CryptoError) {
        do throws(CryptoError) {
            try open(nonce: nonce, aad: aad, ciphertextAndTag: ciphertextAndTag,
                     first: UnsafeMutableRawBufferPointer(start: nil, count: 0)) { _ in output }
        } catch {
            Self.zero(output)  // also when it failed before decrypting anything (nonce, short input)
            throw error
        }
    }

    /// `open`, with the plaintext's first `first.count` bytes decrypted into `first`, and the rest into the buffer
    /// `rest` returns once it has seen them: the record type byte decides where a record's body goes (the server
    /// decrypts Data straight into the upload's write buffer). `first` is not authenticated yet when `rest` sees it:
    /// it may only choose a buffer. `rest` returns exactly ciphertext − first.count bytes, disjoint from the input or
    /// at the input's own position (in place). Any failure zeroes both outputs and throws `.authenticationFailure`;
    /// so does an input with fewer ciphertext bytes than `first`.
    func open(nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer, ciphertextAndTag: UnsafeRawBufferPointer,
              first: UnsafeMutableRawBufferPointer,
              rest: (UnsafeMutableRawBufferPointer) -> UnsafeMutableRawBufferPointer) throws(CryptoError) {
        precondition(!encrypting, "open on an AEADCipher made for sealing")
        guard nonce.count == Self.nonceLength else {
            Self.zero(first)
            throw CryptoError(.malformedInput, "nonce of \(nonce.count) bytes")
        }
        guard ciphertextAndTag.count >= Self.tagLength + first.count else {
            Self.zero(first)
            throw CryptoError(.authenticationFailure, "AEAD input shorter than the tag and the first part")
        }
        let ciphertextLength = ciphertextAndTag.count - Self.tagLength
        let head = UnsafeRawBufferPointer(rebasing: ciphertextAndTag[..<first.count])
        let tail = UnsafeRawBufferPointer(rebasing: ciphertextAndTag[first.count..<ciphertextLength])
        let tag = UnsafeMutableRawPointer(mutating: nonNullBase(ciphertextAndTag) + ciphertextLength)
        var second: UnsafeMutableRawBufferPointer?
        do throws(CryptoError) {
            try start(nonce: nonce, aad: aad, kind: .authenticationFailure)
            try check(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, Int32(Self.tagLength), tag),
                      "EVP_CTRL_AEAD_SET_TAG", .authenticationFailure)
            _ = try crypt(head, into: base(first), kind: .authenticationFailure)
            let output = rest(first)
            precondition(output.count == tail.count, "second open output of \(output.count) bytes for \(tail.count)")
            second = output
            let written = try crypt(tail, into: base(output), kind: .authenticationFailure)
            var finalLength: Int32 = 0
            try check(EVP_CipherFinal_ex(context, base(output) + written, &finalLength), "EVP_CipherFinal_ex",
                      .authenticationFailure)
        } catch {
            Self.zero(first)
            if let second { Self.zero(second) }
            throw error
        }
    }

    // MARK: - Steps shared by seal and open

    /// Sets the nonce (keeping the key schedule and direction) and feeds the additional data.
    private func start(nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer, kind: CryptoError.Kind) throws(CryptoError) {
        try check(EVP_CipherInit_ex(context, nil, nil, nil, nonNullBase(nonce), -1), "EVP_CipherInit_ex(nonce)", kind)
        guard aad.count > 0 else { return }
        precondition(aad.count <= Int(Int32.max), "AAD of \(aad.count) bytes")
        var ignored: Int32 = 0
        try check(EVP_CipherUpdate(context, nil, &ignored, nonNullBase(aad), Int32(aad.count)), "EVP_CipherUpdate(aad)", kind)
    }

    /// Encrypts or decrypts `input` to `out`, returning the bytes written. `out` is the input's address (in place) or
    /// disjoint from it: with a partial overlap the cipher would overwrite input it has not read yet.
    private func crypt(_ input: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>,
                       kind: CryptoError.Kind) throws(CryptoError) -> Int {
        guard input.count > 0 else { return 0 }
        precondition(input.count <= Int(Int32.max) - 16, "AEAD input of \(input.count) bytes")
        let inStart = UInt(bitPattern: input.baseAddress), outStart = UInt(bitPattern: out)
        precondition(inStart == outStart || outStart + UInt(input.count) <= inStart || inStart + UInt(input.count) <= outStart,
                     "AEAD output partially overlaps its input")
        var written: Int32 = 0
        try check(EVP_CipherUpdate(context, out, &written, nonNullBase(input), Int32(input.count)), "EVP_CipherUpdate", kind)
        return Int(written)
    }

    /// Where output goes. An empty output (opening an empty record) may have no address, but EVP_CipherFinal_ex still
    /// wants one; it writes nothing there for these AEADs.
    private func base(_ buffer: UnsafeMutableRawBufferPointer) -> UnsafeMutablePointer<UInt8> {
        buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? spareOutput
    }

    private static func zero(_ buffer: UnsafeMutableRawBufferPointer) {
        if let base = buffer.baseAddress, buffer.count > 0 { OPENSSL_cleanse(base, buffer.count) }
    }
}
