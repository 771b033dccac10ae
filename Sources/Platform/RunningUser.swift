// Who this process runs as, for messages that tell an operator which user needs a permission ("ferryd runs as ferry
// (uid 998)"): the effective uid and its name from the password database, the number alone when it has none (a
// container's arbitrary uid).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public struct RunningUser: Sendable {
    public let uid: UInt32
    public let name: String

    public static var current: RunningUser {
        let uid = geteuid()
        guard let entry = getpwuid(uid), let raw = entry.pointee.pw_name else { return RunningUser(uid: uid, name: "\(uid)") }
        return RunningUser(uid: uid, name: String(cString: raw))
    }
}
