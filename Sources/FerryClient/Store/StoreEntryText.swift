// How `ferry ls` and `ferry stat` print what the store answered: a name per line, the long format (-l), JSON. Every
// name from the server goes through TerminalText.printable for the terminal (a name with an escape sequence must not
// drive it; the server refuses such names, but the client does not rely on a server for its terminal's safety), and
// through JSONText's escaping in JSON, where nothing is replaced.
import Foundation
import Protocol

enum StoreEntryText {
    /// `entry`'s line in the long format: size in bytes, the time (the source's modification time when the upload
    /// carried it, else the upload's), the first 12 hex digits of the SHA-256, the name.
    ///
    ///        1048576  2026-12-07 08:00  3f2a9c0b1d4e  photos/a.jpg
    ///              -                 -             -  photos/raw/
    static func longLine(_ entry: ListEntry, name: String) -> String {
        switch entry {
        case .file(let file):
            let size = String(file.size)
            return String(repeating: " ", count: max(0, 12 - size.count)) + size + "  " + localMinute(file.modified ?? file.uploaded)
                + "  " + hex(Array(file.sha256.prefix(6))) + "  " + TerminalText.printable(name)
        case .directory:
            return String(repeating: " ", count: 11) + "-" + String(repeating: " ", count: 17) + "-"
                + String(repeating: " ", count: 13) + "-  " + TerminalText.printable(name)
        }
    }

    /// One JSON object (one line of `--json`'s JSON Lines): `name` as printed, `path` in the namespace.
    /// A REMOTE that failed, as a line of `--json` (ls, stat: the shape `ferry rm --json` gives a failure).
    static func jsonFailure(path: String, _ failure: UploadFailure) -> String {
        var out = "{\"path\":"
        JSONText.appendQuoted(path, to: &out)
        out += ",\"code\":"
        JSONText.appendQuoted(failure.code.name, to: &out)
        out += ",\"error\":"
        JSONText.appendQuoted(failure.message, to: &out)
        return out + "}"
    }

    static func json(_ entry: ListEntry, name: String) -> String {
        var out = "{\"name\":"
        JSONText.appendQuoted(name, to: &out)
        switch entry {
        case .file(let file):
            out += ",\"path\":"
            JSONText.appendQuoted(file.path, to: &out)
            out += ",\"type\":\"file\",\"size\":\(file.size),\"sha256\":\"\(hex(file.sha256))\",\"modified\":"
            out += file.modified.map { "\"\(rfc3339($0))\"" } ?? "null"
            out += ",\"uploaded\":\"\(rfc3339(file.uploaded))\",\"uploader\":"
            JSONText.appendQuoted(file.uploader, to: &out)
        case .directory(let path):
            out += ",\"path\":"
            JSONText.appendQuoted(path + "/", to: &out)
            out += ",\"type\":\"directory\""
        }
        return out + "}"
    }

    /// `time` as RFC 3339 in UTC with its nanoseconds: 2026-12-07T08:00:01.123456789Z.
    static func rfc3339(_ time: WireTime) -> String {
        var seconds = time_t(time.seconds)
        var fields = tm()
        gmtime_r(&seconds, &fields)
        return date(fields) + "T" + clock(fields) + "." + digits(Int(time.nanoseconds), 9) + "Z"
    }

    /// `time` in local time to the minute, as ls -l shows it: 2026-12-07 08:00.
    static func localMinute(_ time: WireTime) -> String {
        var seconds = time_t(time.seconds)
        var fields = tm()
        localtime_r(&seconds, &fields)
        return date(fields) + " " + digits(Int(fields.tm_hour), 2) + ":" + digits(Int(fields.tm_min), 2)
    }

    /// `time` in local time to the nanosecond, with the offset: 2026-12-07 08:00:01.123456789 +0000 (stat).
    static func localFull(_ time: WireTime) -> String {
        var seconds = time_t(time.seconds)
        var fields = tm()
        localtime_r(&seconds, &fields)
        let offset = Int(fields.tm_gmtoff) / 60
        return date(fields) + " " + clock(fields) + "." + digits(Int(time.nanoseconds), 9) + " " + (offset < 0 ? "-" : "+")
            + digits(abs(offset) / 60, 2) + digits(abs(offset) % 60, 2)
    }

    // Hand-made rather than String(format:): Foundation's formatting cost a listing of 100,000 entries a second of CPU.

    private static func date(_ fields: tm) -> String {
        digits(Int(fields.tm_year) + 1900, 4) + "-" + digits(Int(fields.tm_mon) + 1, 2) + "-" + digits(Int(fields.tm_mday), 2)
    }

    private static func clock(_ fields: tm) -> String {
        digits(Int(fields.tm_hour), 2) + ":" + digits(Int(fields.tm_min), 2) + ":" + digits(Int(fields.tm_sec), 2)
    }

    /// `value` in decimal, zero-padded to `width` digits (a negative year keeps its sign).
    static func digits(_ value: Int, _ width: Int) -> String {
        let text = String(value.magnitude)
        return (value < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
