// Extended attributes of an open file (fgetxattr/fsetxattr): small named values that stay with the file through links
// and renames and go with it when it is removed. The store records a committed file's SHA-256 in one (StoredDigest).
internal import CPlatform

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public enum FileAttributes {
    /// The attribute's value (at most `maximumLength` bytes); nil when the file has none of that name, or a longer
    /// one, or the file system keeps no attributes.
    public static func get(_ name: String, of descriptor: Int32, maximumLength: Int) -> [UInt8]? {
        var value = [UInt8](repeating: 0, count: maximumLength)
        let count = value.withUnsafeMutableBytes { cplatform_get_attribute(descriptor, name, $0.baseAddress, maximumLength) }
        guard count >= 0 else { return nil }
        return Array(value.prefix(count))
    }

    /// Sets (creates or replaces) the attribute.
    public static func set(_ name: String, _ value: [UInt8], on descriptor: Int32) throws(SystemError) {
        let result = value.withUnsafeBytes { cplatform_set_attribute(descriptor, name, $0.baseAddress, value.count) }
        if result != 0 { throw SystemError.last("fsetxattr") }
    }
}
