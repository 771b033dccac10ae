// The standard library's withUnsafe*Bytes are `rethrows`, which erases a typed error to `any Error`. These keep the
// error type, so the crypto and record layers can throw precise errors without casts.

extension Array where Element == UInt8 {
    mutating func withUnsafeMutableBytesTyped<R, E: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        let result: Result<R, E> = withUnsafeMutableBytes { buffer in Result { () throws(E) -> R in try body(buffer) } }
        return try result.get()
    }

    func withUnsafeBytesTyped<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let result: Result<R, E> = withUnsafeBytes { buffer in Result { () throws(E) -> R in try body(buffer) } }
        return try result.get()
    }
}
