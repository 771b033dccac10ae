// RLIMIT_NOFILE: every session is one socket, and 10,000 idle sessions are 10,000 descriptors. The soft limit is raised
// to the hard one at start (a child ferryd inherits it); when even the hard limit is short the run stops before it
// starts, saying how to raise it, rather than failing with EMFILE half-way through.
import Foundation

enum DescriptorLimit {
    struct Shortfall: Error, Equatable, CustomStringConvertible {
        let needed: Int
        let limit: UInt64
        var description: String {
            "this run needs about \(needed) open files (sessions + idle sessions + \(LoadTestPlan.descriptorReserve)) "
                + "but the limit is \(limit): raise the hard limit first (e.g. `prlimit --pid $$ --nofile=65536:65536` "
                + "as root, or `ulimit -Hn`), or run fewer sessions"
        }
    }

    /// Raises the soft limit to the hard limit (or, where the kernel refuses that, e.g. an unlimited hard limit above
    /// fs.nr_open, to what the run needs); throws when the soft limit still falls short. Returns the soft limit.
    @discardableResult
    static func raise(needed: Int) throws(Shortfall) -> UInt64 {
        var limit = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 else { return 0 }
        for target in [limit.rlim_max, rlim_t(max(needed, 0))] where limit.rlim_cur < target && target <= limit.rlim_max {
            var raised = limit
            raised.rlim_cur = target
            if setrlimit(RLIMIT_NOFILE_VALUE, &raised) == 0 {
                limit = raised
                break
            }
        }
        try check(needed: needed, limit: UInt64(limit.rlim_cur))
        return UInt64(limit.rlim_cur)
    }

    static func check(needed: Int, limit: UInt64) throws(Shortfall) {
        // RLIM_INFINITY is UInt64.max: never short.
        guard limit >= UInt64(max(needed, 0)) else { throw Shortfall(needed: needed, limit: limit) }
    }

    #if os(Linux)
    private static let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
    #endif
}
