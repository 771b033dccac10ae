// The one error type of the Platform target: a system call's errno and the call's name. Callers branch on `name`
// ("ENOSPC") or on the errno constants; `description` is for logs ("openat: ELOOP (Too many levels of symbolic links)").
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CPlatform

public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public let number: Int32
    public let function: String

    public init(_ number: Int32, _ function: String) {
        self.number = number
        self.function = function
    }

    /// The error of the call that just failed: `errno` now.
    public static func last(_ function: String) -> SystemError { SystemError(errno, function) }

    /// The symbolic name, e.g. "ENOSPC"; "E<number>" when the C library does not know it.
    public var name: String {
        guard let name = cplatform_errno_name(number) else { return "E\(number)" }
        return String(cString: name)
    }

    /// strerror's text, e.g. "No space left on device".
    public var message: String { String(cString: strerror(number)) }

    public var description: String { "\(function): \(name) (\(message))" }
}
