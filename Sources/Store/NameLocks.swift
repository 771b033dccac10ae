// One writer per partial, and one change at a time per stored name, across the daemons that share a storage root
// (`storage.shared`, docs/STORE.md "Several daemons on one root"). PartialIndex settles it between one daemon's
// threads; between daemons, whoever writes a file's .part, deletes or renames the file, or settles an intent of it
// first takes an exclusive flock(2) on `<staging>/<stem>.lock` (the stem of the name's .part):
//
//   take:  open `<stem>.lock` (O_CREAT, no link followed) ─► flock(LOCK_EX | LOCK_NB)
//            │ EWOULDBLOCK: another daemon has the name ─► `held` (the caller answers `busy`)
//            └ taken ─► is the name still this file (fstat = fstatat)? no: its holder removed it meanwhile ─► again
//   give:  unlink `<stem>.lock` ─► close (the lock goes with the descriptor, after the name: a taker that opened the
//          old file finds it no longer named, and takes the new one)
//
// The kernel drops a dead daemon's locks with its descriptors, however it died: its .lock files stay, free, and the
// next take uses them (the staging scan removes them). flock must reach every client of a shared file system: it does
// on one host, and on NFSv4 (where Linux emulates it with whole-file POSIX locks), CephFS and GPFS.
import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class NameLocks: Sendable {
    static let suffix = ".lock"

    enum Outcome: Equatable {
        case taken
        /// Another daemon (or another open of it in this process) has the name.
        case held
        /// The lock file could not be made or locked.
        case failed(SystemError)
    }

    private let staging: Int32
    /// The names this process holds, with their lock files' descriptors.
    private let held = PlainMutex([String: Int32]())

    /// Attempts before a take gives up on a name whose lock file keeps being replaced under it (each replacement is a
    /// holder giving it back: `held` is then the honest answer).
    private static let attempts = 16

    init(staging: Int32) {
        self.staging = staging
    }

    deinit {
        for descriptor in held.withLock({ $0.values }) { DirectoryCalls.close(descriptor) }
    }

    /// `<stem>.lock` for `<stem>.part`.
    static func lockName(_ partName: String) -> String {
        String(partName.dropLast(NameRules.partSuffix.count)) + suffix
    }

    /// Takes the name of the .part `partName` for this process, without waiting. Blocking (an open and a flock).
    func take(_ partName: String) -> Outcome {
        let name = Self.lockName(partName)
        for _ in 0..<Self.attempts {
            let fd: Int32
            do { fd = try DirectoryCalls.openFile(name, in: staging, flags: O_RDWR | O_CREAT, mode: 0o600) } catch {
                return .failed(error)
            }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                let reason = errno
                DirectoryCalls.close(fd)
                return reason == EWOULDBLOCK ? .held : .failed(SystemError(reason, "flock"))
            }
            guard let mine = try? DirectoryCalls.status(of: fd), let named = try? DirectoryCalls.status(of: name, in: staging),
                  named.device == mine.device, named.inode == mine.inode else {
                DirectoryCalls.close(fd)  // given back and removed since we opened it: take the one named now
                continue
            }
            held.withLock { $0[partName] = fd }
            return .taken
        }
        return .held
    }

    /// Gives back a name `take` took (nothing when this process does not hold it). Blocking (an unlink).
    func give(_ partName: String) {
        guard let fd = held.withLock({ $0.removeValue(forKey: partName) }) else { return }
        try? DirectoryCalls.removeFile(Self.lockName(partName), in: staging)
        DirectoryCalls.close(fd)
    }

    /// Names held now (tests: none once every upload ended).
    var count: Int { held.withLock { $0.count } }
}
