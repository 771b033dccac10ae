// A process's memory and CPU from /proc (Linux): VmRSS from /proc/PID/status, utime + stime from /proc/PID/stat (the
// process line sums every thread). The parsers take the text, so the tests feed them fixed samples.
import Foundation

enum ProcessStats {
    /// VmRSS in KiB, from the text of /proc/PID/status.
    static func residentKiB(status: String) -> Int? {
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            return fields.count >= 2 ? Int(fields[1]) : nil
        }
        return nil
    }

    /// utime + stime in clock ticks, from the text of /proc/PID/stat. The command name (field 2) is in parentheses and
    /// may itself hold spaces or ")", so fields are counted from the last ")".
    static func cpuTicks(stat: String) -> UInt64? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After ")": state is field 3, so utime (14) and stime (15) are at offsets 11 and 12.
        guard fields.count > 12, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return nil }
        return user + system
    }

    static func residentKiB(pid: Int32) -> Int? {
        (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)).flatMap(residentKiB(status:))
    }

    /// CPU seconds (user + system, all threads) the process has used so far.
    static func cpuSeconds(pid: Int32) -> Double? {
        guard let ticks = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)).flatMap(cpuTicks(stat:)) else {
            return nil
        }
        return Double(ticks) / Double(max(sysconf(Int32(_SC_CLK_TCK)), 1))
    }

    static func exists(pid: Int32) -> Bool { FileManager.default.fileExists(atPath: "/proc/\(pid)/stat") }

    /// This process's CPU seconds (getrusage: user + system).
    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        let who = __rusage_who_t(RUSAGE_SELF.rawValue)
        #else
        let who = RUSAGE_SELF
        #endif
        guard getrusage(who, &usage) == 0 else { return 0 }
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
