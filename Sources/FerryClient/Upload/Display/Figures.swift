// Sizes, rates and times as `ferry upload` writes them for people: binary units with one decimal ("1.2 GiB"), since
// that is what `ls -lh` and the options (64MiB) speak.
import Foundation

enum Figures {
    private static let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]

    /// "512 B", "1.0 KiB", "4.2 GiB".
    static func bytes(_ count: UInt64) -> String {
        let (value, unit) = scaled(count)
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    /// "1.2/4.0 GiB" when both are in one unit, else "512 KiB/4.0 GiB"-like: a part of a total, compactly.
    static func bytes(_ part: UInt64, of total: UInt64) -> String {
        let (partValue, partUnit) = scaled(part)
        let (_, totalUnit) = scaled(total)
        guard partUnit == totalUnit, partUnit > 0 else { return bytes(part) + "/" + bytes(total) }
        return String(format: "%.1f/", partValue) + bytes(total)
    }

    /// "3.2 MiB/s"; bytes over seconds, 0 when no time passed.
    static func rate(_ bytes: UInt64, seconds: Double) -> String {
        let perSecond = seconds > 0 ? Double(bytes) / seconds : 0
        return self.bytes(UInt64(min(max(perSecond, 0), Double(UInt64.max / 2)))) + "/s"
    }

    /// "0:42", "1:02:03": a clock for an ETA.
    static func clock(_ seconds: Double) -> String {
        // Bounded (and NaN as 0) before the conversion, which would trap on either.
        let total = seconds.isNaN ? 0 : Int(min(max(seconds, 0), 359_999).rounded())
        return total >= 3600 ? String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60)
            : String(format: "%d:%02d", total / 60, total % 60)
    }

    /// "0.4 s", "12.3 s", "2:03": how long a file took.
    static func duration(_ seconds: Double) -> String {
        seconds.isNaN || seconds < 60 ? String(format: "%.1f s", seconds.isNaN ? 0 : max(seconds, 0)) : clock(seconds)
    }

    private static func scaled(_ count: UInt64) -> (Double, Int) {
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return (value, unit)
    }
}
