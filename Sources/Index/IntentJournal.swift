// The intent journal: every commit and delete is appended here (one write) before the tree changes, and forgotten once
// the rows it implies are durably in the row store. What a crash leaves in it is what start-up settles against the
// tree (Store.replayIntents), so start-up costs the work in flight, never a walk of the tree.
//
// Files `intents.<generation>` in the journal's directory (<root>/.index/ by default), each appended to with
// O_APPEND (one write(2) per record: a killed process leaves whole records; a power cut may tear the last ones, which
// the checksum catches, IntentRecord). The active file is truncated once every intent in it was forgotten, and
// replaced by a new generation when it grows past `rotateBytes` with intents still outstanding; an older file is
// removed once its last intent was forgotten. Files found at open are read, their intents pending until settled.
// Daemons sharing a storage root each have a journal of their own (`<root>/.index/nodes/<node>/`), opened `exclusive`:
// an flock(2) on its `lock` file, held for the journal's life, says its daemon runs; a free one, that it is gone and
// what it left may be settled by another (Store+Sharing.swift).
//
//   append ──► pending ──► claimed (a finish or an abandon is on its way) ──► forgotten (its rows are durable)
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class IntentJournal: @unchecked Sendable {
    /// Past this size the active file is replaced when it still holds outstanding intents.
    static let rotateBytes: Int64 = 4 << 20
    static let prefix = "intents."
    /// A file is replaced past 4 MiB; one that failed to be (its successor could not be created) grows on, but never
    /// by this much: a larger file is not ours, or damaged, and is not read into memory.
    static let largestReadable: off_t = 256 << 20
    /// The longest name a record takes (the store's PATH_MAX for a path; a namespace and an uploader are far shorter).
    static let maximumName = 4096

    private struct Segment {
        let generation: Int
        let descriptor: Int32
        var size: Int64
        var outstanding: Int
        /// The id of the last intent written to it, and the highest known on stable storage (group sync).
        var lastID: Int64 = 0
        var syncedID: Int64 = 0
    }

    private enum State {
        case pending
        case claimed
    }

    private let directory: String
    /// Guards everything below.
    private let lock = NSLock()
    private var active: Segment
    private var older: [Int: Segment] = [:]
    /// Every intent not yet forgotten: its file's generation, its state, whether its commit was durable.
    private var intents: [Int64: (intent: Intent, generation: Int, state: State, durable: Bool)] = [:]
    private var nextID: Int64
    /// One sync at a time: a caller that waited for another's finds its record covered and syncs nothing.
    private let syncing = NSLock()

    /// Held for the journal's life when opened `exclusive`.
    private let journalLock: JournalLock?

    /// Opens the journal in `directory` (which must exist), reading what a previous process left. `exclusive`: locked
    /// first (flock on `<directory>/lock`), `inUse` at once when another process has it.
    init(directory: String, exclusive: Bool = false) throws(IndexError) {
        journalLock = exclusive ? try JournalLock(directory: directory) : nil
        self.directory = directory
        var found: [(generation: Int, name: String)] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            guard name.hasPrefix(Self.prefix), let generation = Int(name.dropFirst(Self.prefix.count)), generation >= 0 else {
                continue
            }
            found.append((generation, name))
        }
        found.sort { $0.generation < $1.generation }
        var highestID: Int64 = 0
        var recovered: [Int64: (intent: Intent, generation: Int, state: State, durable: Bool)] = [:]
        var segments: [Int: Segment] = [:]
        for (generation, name) in found {
            let path = directory + "/" + name
            let descriptor = open(path, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC)
            guard descriptor >= 0 else {
                let reason = errno
                for segment in segments.values { close(segment.descriptor) }
                throw IndexError(.unavailable, "cannot open the intent journal \(path): \(String(cString: strerror(reason)))")
            }
            var info = stat()
            guard fstat(descriptor, &info) == 0, info.st_size <= Self.largestReadable else {
                close(descriptor)
                for segment in segments.values { close(segment.descriptor) }
                throw IndexError(.unavailable, "the intent journal \(path) is larger than any ferryd writes (over "
                    + "\(Self.largestReadable >> 20) MiB) or cannot be read: move it away, start ferryd, and run "
                    + "`ferryd reindex` with it stopped to bring the index back to the stored files")
            }
            let bytes = Self.readAll(descriptor)
            let records = IntentRecord.decodeAll(bytes)
            for intent in records {
                recovered[intent.id] = (intent, generation, .pending, true)
                highestID = max(highestID, intent.id)
            }
            segments[generation] = Segment(generation: generation, descriptor: descriptor, size: Int64(bytes.count),
                                           outstanding: records.count, lastID: records.last?.id ?? 0,
                                           syncedID: records.last?.id ?? 0)
        }
        nextID = highestID + 1
        intents = recovered
        let generation = (found.last?.generation ?? 0) + 1
        let path = directory + "/" + Self.prefix + "\(generation)"
        let descriptor = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            for segment in segments.values { close(segment.descriptor) }
            throw IndexError(.unavailable, "cannot create the intent journal \(path): \(String(cString: strerror(errno)))")
        }
        active = Segment(generation: generation, descriptor: descriptor, size: 0, outstanding: 0)
        older = segments
        Self.syncDirectory(directory)  // the new file's name durable before a durable intent is written into it
        // A file that held no whole record is of no use (an empty one, or one torn at its first record).
        for (generation, segment) in segments where segment.outstanding == 0 { retire(generation) }
    }

    deinit {
        close(active.descriptor)
        for segment in older.values { close(segment.descriptor) }
    }

    /// Intents not yet forgotten, pending or claimed.
    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return intents.count
    }

    /// Intents not yet forgotten and not claimed, oldest first: at open, what a crash left.
    var pending: [Intent] {
        lock.lock()
        defer { lock.unlock() }
        return intents.values.filter { $0.state == .pending }.map(\.intent).sorted { $0.id < $1.id }
    }

    /// Appends an intent; with `durable` it is on stable storage when this returns. Blocking.
    func append(kind: Intent.Kind, namespace: String, path: String, file: IndexedFile?, durable: Bool) throws(IndexError) -> Intent {
        for name in [namespace, path, file?.uploader ?? ""] where name.utf8.count > Self.maximumName {
            throw IndexError(.unrepresentable, "a name of \(name.utf8.count) bytes")
        }
        if let file, file.sha256.count != 32 { throw IndexError(.unrepresentable, "a SHA-256 of \(file.sha256.count) bytes") }
        if let file, Int64(exactly: file.size) == nil { throw IndexError(.unrepresentable, "a size of \(file.size) bytes") }
        lock.lock()
        let intent = Intent(id: nextID, kind: kind, namespace: namespace, path: path, file: file)
        let record = IntentRecord.encode(intent)
        let written = record.withUnsafeBytes { write(active.descriptor, $0.baseAddress, $0.count) }
        guard written == record.count else {
            let reason = written < 0 ? String(cString: strerror(errno)) : "a short write"
            // A partial record at the end would hide every later one: cut it off (a full disk is the likely cause).
            if written > 0 { _ = ftruncate(active.descriptor, off_t(active.size)) }
            lock.unlock()
            throw IndexError(.unavailable, "cannot write the intent journal: \(reason)")
        }
        nextID += 1
        active.size += Int64(record.count)
        active.outstanding += 1
        active.lastID = intent.id
        intents[intent.id] = (intent, active.generation, .pending, durable)
        let generation = active.generation
        if active.size >= Self.rotateBytes { rotate() }
        lock.unlock()
        if durable { try makeDurable(intent.id, in: generation) }
        return intent
    }

    /// Group sync: one fdatasync covers every record written to the file before it began, so concurrent durable
    /// appends share it (the pool's commits arrive together). The file stays open meanwhile: a file is closed only
    /// when its last intent is forgotten, and this one is outstanding.
    private func makeDurable(_ id: Int64, in generation: Int) throws(IndexError) {
        syncing.lock()
        defer { syncing.unlock() }
        lock.lock()
        guard let segment = generation == active.generation ? active : older[generation], segment.syncedID < id else {
            lock.unlock()
            return
        }
        let covered = segment.lastID
        lock.unlock()
        guard fdatasync(segment.descriptor) == 0 else {
            throw IndexError(.unavailable, "cannot sync the intent journal: \(String(cString: strerror(errno)))")
        }
        lock.lock()
        if generation == active.generation {
            active.syncedID = max(active.syncedID, covered)
        } else if let synced = older[generation]?.syncedID {
            older[generation]?.syncedID = max(synced, covered)
        }
        lock.unlock()
    }

    /// Marks a pending intent as on its way to being finished or abandoned: false when it is not pending (finished,
    /// abandoned or claimed already, or unknown). Returns whether its commit was durable.
    func claim(_ id: Int64) -> (claimed: Bool, durable: Bool) {
        lock.lock()
        defer { lock.unlock() }
        guard let entry = intents[id], entry.state == .pending else { return (false, false) }
        intents[id]?.state = .claimed
        return (true, entry.durable)
    }

    /// Whether any of `ids` was appended durable (the rows that finish it must be durable before it is forgotten).
    func anyDurable(_ ids: [Int64]) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return ids.contains { intents[$0]?.durable == true }
    }

    /// Gives claimed intents back (their rows could not be written): pending again, for a later finish or start-up.
    func unclaim(_ ids: [Int64]) {
        lock.lock()
        defer { lock.unlock() }
        for id in ids where intents[id]?.state == .claimed { intents[id]?.state = .pending }
    }

    /// Forgets intents whose rows are durable (or that changed nothing): a file whose last intent this was goes.
    func forget(_ ids: [Int64]) {
        lock.lock()
        defer { lock.unlock() }
        for id in ids {
            guard let entry = intents.removeValue(forKey: id) else { continue }
            if entry.generation == active.generation {
                active.outstanding -= 1
            } else if older[entry.generation] != nil {
                older[entry.generation]?.outstanding -= 1
                if older[entry.generation]?.outstanding == 0 { retire(entry.generation) }
            }
        }
        // Nothing outstanding in the active file: it starts over (a cheap truncate, no new file).
        if active.outstanding == 0, active.size > 0, ftruncate(active.descriptor, 0) == 0 { active.size = 0 }
    }

    /// With the lock held: a new active file; the old one is kept until its intents are forgotten.
    private func rotate() {
        let generation = active.generation + 1
        let path = directory + "/" + Self.prefix + "\(generation)"
        let descriptor = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return }  // the active file grows on; the next append tries again
        Self.syncDirectory(directory)
        older[active.generation] = active
        active = Segment(generation: generation, descriptor: descriptor, size: 0, outstanding: 0)
    }

    /// With the lock held: an older file whose intents are all forgotten is removed.
    private func retire(_ generation: Int) {
        guard let segment = older.removeValue(forKey: generation) else { return }
        close(segment.descriptor)
        unlink(directory + "/" + Self.prefix + "\(generation)")
    }

    /// A departed daemon's journal (opened `exclusive`) with nothing pending: its files, its lock file and its
    /// directory removed, the lock still held (a daemon of that name starting meanwhile finds its lock file gone and
    /// makes its directory again: JournalLock). Returns whether it was removed; the journal is not used after.
    func removeIfEmpty() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard journalLock != nil, intents.isEmpty, older.isEmpty else { return false }
        unlink(directory + "/" + Self.prefix + "\(active.generation)")
        unlink(directory + "/" + JournalLock.name)
        return rmdir(directory) == 0
    }

    private static func syncDirectory(_ path: String) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    private static func readAll(_ descriptor: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var offset: off_t = 0
        while true {
            let count = chunk.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, offset) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return bytes }
            bytes += chunk[0..<count]
            offset += off_t(count)
        }
    }
}

/// The flock(2) on a journal's `lock` file, released with the descriptor (or by the kernel when the process dies).
private final class JournalLock {
    static let name = "lock"
    private let descriptor: Int32

    init(directory: String) throws(IndexError) {
        let path = directory + "/" + Self.name
        let descriptor = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            let reason = errno
            // Its directory removed meanwhile by a daemon that found the journal departed and empty (removeIfEmpty).
            if reason == ENOENT { throw IndexError(.inUse, "the intent journal \(directory) was being removed") }
            throw IndexError(.unavailable, "cannot open the intent journal's lock \(path): \(String(cString: strerror(reason)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            close(descriptor)
            guard reason == EWOULDBLOCK else {
                throw IndexError(.unavailable, "cannot lock the intent journal \(path): \(String(cString: strerror(reason)))")
            }
            throw IndexError(.inUse, "the intent journal \(directory) is in use by another running ferryd")
        }
        // Locked after its holder removed the journal (removeIfEmpty): not a lock on anything any more.
        var held = stat(), named = stat()
        guard fstat(descriptor, &held) == 0, lstat(path, &named) == 0, held.st_ino == named.st_ino,
              held.st_dev == named.st_dev else {
            close(descriptor)
            throw IndexError(.inUse, "the intent journal \(directory) was being removed")
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }
}
