// `--exclude`, `--include` and `--exclude-from`: which paths of the upload plan are left out, with rsync's pattern
// rules (rsync(1), "INCLUDE/EXCLUDE PATTERN RULES"), so that patterns people already wrote for rsync mean the same:
//
//   *      any run of characters but '/'          **   any run of characters, '/' included
//   ?      one character but '/'                  [a-z] [!a-z] [^a-z]   one character of (or not of) a set
//   \x     the character x itself
//   name/  (trailing '/') matches directories only; an excluded directory is not walked
//   /name  (leading '/') anchored at the top: the name an argument is stored under ("photos" for `ferry upload
//          photos` or `ferry upload ~/photos`), else a pattern may match at any depth
//   a/b, a**  a pattern with a '/' (besides a trailing one) or "**" matches the whole path from some directory down
//          ("raw/*.dng" matches "photos/raw/x.dng"); one without matches the last component only ("*.tmp")
//
// Precedence: a path is left out when it matches an exclude pattern and no include pattern — what rsync does when
// every --include comes before every --exclude, which is how its idioms are written (`--include '*/' --include
// '*.jpg' --exclude '*'`: only the JPEGs, in their directories). ArgumentParser keeps each option's values in order
// but not their interleaving, so rsync's "first match of the whole list" cannot be had from a parsed command line;
// this rule never depends on it.
//
// Hand-written rather than fnmatch(3): glibc's FNM_PATHNAME has no "**", and rsync's own wildmatch is not a library
// this platform ships. The matcher is a dynamic program over (pattern, name) positions, so no pattern costs more than
// their product: no exponential backtracking on "*a*a*a*b".
import Protocol

struct PathFilter: Sendable {
    /// The longest pattern taken: far beyond any real one, and a bound on the matcher's table.
    static let maximumPatternLength = 4096
    /// Patterns read from one --exclude-from file at most.
    static let maximumPatternsPerFile = 100_000

    private let includes: [Rule]
    private let excludes: [Rule]

    var isEmpty: Bool { excludes.isEmpty }

    /// No patterns: nothing is left out.
    static let none = PathFilter(rules: [], [])

    private init(rules includes: [Rule], _ excludes: [Rule]) {
        self.includes = includes
        self.excludes = excludes
    }

    init(includes: [String] = [], excludes: [String] = []) throws(PlanError) {
        self.includes = try includes.map { pattern throws(PlanError) in try Rule(pattern, option: "--include") }
        self.excludes = try excludes.map { pattern throws(PlanError) in try Rule(pattern, option: "--exclude") }
    }

    /// Whether `path` — the name it is stored under, relative to the top ("photos/raw/x.dng") — is left out.
    func excludes(_ path: String, isDirectory: Bool) -> Bool {
        // The name as it will be stored (NFC: a decomposed local name is excluded by the pattern typed composed), split
        // at the byte "/" (a "/" followed by a combining mark is one Swift Character, and still a separator).
        let components = LocalPath.components(NamePolicy.normalized(path)).map { Array($0.unicodeScalars) }
        guard !excludes.isEmpty, !components.isEmpty else { return false }
        guard excludes.contains(where: { $0.matches(components, isDirectory: isDirectory) }) else { return false }
        return !includes.contains { $0.matches(components, isDirectory: isDirectory) }
    }

    /// The patterns of an --exclude-from file: one per line; blank lines and lines starting with '#' or ';' are
    /// comments (as rsync reads them).
    static func patterns(fromFileContents text: String, path: String) throws(PlanError) -> [String] {
        var patterns: [String] = []
        // "\r\n" is one Character in Swift, and a newline: Windows line ends split like Unix ones.
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            guard let first = line.first, first != "#", first != ";" else { continue }
            patterns.append(String(line))
            guard patterns.count <= maximumPatternsPerFile else {
                throw PlanError(description: "--exclude-from \(path): more than \(maximumPatternsPerFile) patterns")
            }
        }
        return patterns
    }

    private struct Rule: Sendable {
        let pattern: [Unicode.Scalar]
        let directoryOnly: Bool
        let anchored: Bool
        /// Matched against several trailing components at once (the pattern has '/' or "**").
        let wholePath: Bool

        init(_ text: String, option: String) throws(PlanError) {
            guard !text.isEmpty else { throw PlanError(description: "\(option): an empty pattern matches nothing") }
            guard text.utf8.count <= PathFilter.maximumPatternLength else {
                throw PlanError(description: "\(option): a pattern longer than \(PathFilter.maximumPatternLength) bytes")
            }
            // On scalars, in NFC as names are stored: Swift's Characters would hide a "/" followed by a combining mark.
            var body = Array(NamePolicy.normalized(text).unicodeScalars)[...]
            let slash: Unicode.Scalar = "/", star: Unicode.Scalar = "*"
            directoryOnly = body.count > 1 && body.last == slash
            while body.count > 1, body.last == slash { body = body.dropLast() }
            anchored = body.first == slash
            while body.first == slash { body = body.dropFirst() }
            guard !body.isEmpty else { throw PlanError(description: "\(option) '\(text)': matches nothing") }
            wholePath = body.contains(slash) || zip(body, body.dropFirst()).contains { $0 == star && $1 == star }
            pattern = Array(body)
        }

        func matches(_ components: [[Unicode.Scalar]], isDirectory: Bool) -> Bool {
            if directoryOnly, !isDirectory { return false }
            guard wholePath || anchored else {
                return components.last.map { Glob.matches(pattern, $0) } ?? false
            }
            // From the top only when anchored; otherwise from any directory down.
            let starts = anchored ? 0..<1 : 0..<components.count
            for start in starts {
                let name = Array(components[start...].joined(separator: ["/"]))
                if Glob.matches(pattern, name) { return true }
            }
            return false
        }
    }
}

/// rsync's wildcards over Unicode scalars (see PathFilter).
enum Glob {
    static func matches(_ pattern: [Unicode.Scalar], _ name: [Unicode.Scalar]) -> Bool {
        // reachable[j]: the pattern's first i elements can match name[0..<j]; rolled over i.
        var reachable = [Bool](repeating: false, count: name.count + 1)
        reachable[0] = true
        var i = 0
        while i < pattern.count {
            var next = [Bool](repeating: false, count: name.count + 1)
            if pattern[i] == "*" {
                let crossesSlash = i + 1 < pattern.count && pattern[i + 1] == "*"
                // Any run: from each reachable position, every later one (not past a '/' for a single star).
                var open = false
                for j in 0...name.count {
                    if reachable[j] { open = true }
                    next[j] = open
                    if j < name.count, name[j] == "/", !crossesSlash { open = false }
                }
                i += crossesSlash ? 2 : 1
                while i < pattern.count, pattern[i] == "*" { i += 1 }  // "***" is "**"
            } else {
                // '?' and sets never match '/' (rsync's rule); a literal matches only itself, '/' included.
                let (matchesOne, length) = element(pattern, at: i)
                for j in 0..<name.count where reachable[j] && matchesOne(name[j]) { next[j + 1] = true }
                i += length
            }
            reachable = next
            guard reachable.contains(true) else { return false }
        }
        return reachable[name.count]
    }

    /// The single-character element at `i` ('?', a set, an escape or a literal) and how many scalars it spans. A
    /// '[' without its ']' is a literal '['.
    private static func element(_ pattern: [Unicode.Scalar], at i: Int) -> ((Unicode.Scalar) -> Bool, Int) {
        switch pattern[i] {
        case "?":
            return ({ $0 != "/" }, 1)
        case "\\" where i + 1 < pattern.count:
            let literal = pattern[i + 1]
            return ({ $0 == literal }, 2)
        case "[":
            var j = i + 1
            let negated = j < pattern.count && (pattern[j] == "!" || pattern[j] == "^")
            if negated { j += 1 }
            var ranges: [ClosedRange<UInt32>] = []
            var first = true
            while j < pattern.count, pattern[j] != "]" || first {
                first = false
                var low = pattern[j]
                if low == "\\", j + 1 < pattern.count { j += 1; low = pattern[j] }
                if j + 2 < pattern.count, pattern[j + 1] == "-", pattern[j + 2] != "]" {
                    let high = pattern[j + 2]
                    if low.value <= high.value { ranges.append(low.value...high.value) }
                    j += 3
                } else {
                    ranges.append(low.value...low.value)
                    j += 1
                }
            }
            guard j < pattern.count else {  // no closing ']': a literal '['
                return ({ $0 == "[" }, 1)
            }
            return ({ scalar in scalar != "/" && ranges.contains { $0.contains(scalar.value) } != negated }, j - i + 1)
        default:
            let literal = pattern[i]
            return ({ $0 == literal }, 1)
        }
    }
}
