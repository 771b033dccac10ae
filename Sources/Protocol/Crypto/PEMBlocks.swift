// PEM (RFC 7468) blocks for the files Ferry reads: certificates, CA bundles and CRLs. One reader, so that every file
// kind has the same strictness: each block must carry the expected label and no headers, text around blocks is
// skipped (RFC 7468 §5.2), and a block of another kind (a private key pasted into a bundle) is an error, never skipped.
internal import COpenSSL

/// The DER contents of every PEM block in `bytes`, each of which must carry `label` and no headers.
func pemBlocks(_ bytes: [UInt8], label wanted: String) throws(CryptoError) -> [[UInt8]] {
    guard bytes.count <= Int(Int32.max) else { throw CryptoError(.malformedInput, "PEM: oversized input") }
    let bio = try check(BIO_new(BIO_s_mem()), "BIO_new")
    defer { BIO_free(bio) }
    let stored = bytes.withUnsafeBytes { BIO_write(bio, $0.baseAddress, Int32($0.count)) }
    guard stored == Int32(bytes.count) else { throw CryptoError(.library, openSSLErrorText("BIO_write")) }
    var blocks: [[UInt8]] = []
    while true {
        var name: UnsafeMutablePointer<CChar>?
        var header: UnsafeMutablePointer<CChar>?
        var data: UnsafeMutablePointer<UInt8>?
        var length = 0
        guard PEM_read_bio(bio, &name, &header, &data, &length) == 1 else {
            let code = ERR_peek_last_error()
            if ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE {
                ERR_clear_error()  // the normal end: no further "-----BEGIN"
                return blocks
            }
            throw CryptoError(.malformedInput, openSSLErrorText("PEM_read_bio"))
        }
        defer {
            copenssl_free(name)
            copenssl_free(header)
            copenssl_free(data)
        }
        let blockName = name.map { String(cString: $0) } ?? ""
        guard blockName == wanted else {
            // Only the label is reported, never the contents (it may be a private key), and only printable ASCII.
            let label = String(String.UnicodeScalarView(blockName.unicodeScalars.prefix(40).filter {
                $0.value >= 0x20 && $0.value < 0x7F
            }))
            throw CryptoError(.malformedInput, "PEM: unexpected block \"\(label)\", want \(wanted)")
        }
        guard header.map({ $0.pointee == 0 }) ?? true else {
            throw CryptoError(.malformedInput, "PEM: \(wanted) block with headers")
        }
        guard let data, length > 0 else { throw CryptoError(.malformedInput, "PEM: empty \(wanted) block") }
        blocks.append(Array(UnsafeBufferPointer(start: data, count: length)))
    }
}
