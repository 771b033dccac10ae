// A probe (PROTOCOL.md §8.10): does the store hold this very file — the name, the size and the SHA-256 the client
// announced — without sending it? One thread-pool job, read only: it makes no directory and writes nothing.
//
//   the directory chain (below the root, no link followed) ─missing─► absent
//        └─► the final name: none ─► absent (unless the directory refuses new names: the refusal, before any Data)
//                            a regular file with that digest and size ─► stored (Committed, "already stored")
//                            a regular file otherwise ─► exists (other content, or no digest recorded)
//                            a link, a directory, something else ─► the refusal a real upload would get
//
// The answers are those an upload of the file would get at Open (UploadJobs.prepare's checks), so a client that
// probes first learns at once, before any Data, what a re-run or a forbidden directory would have told it after.
import Platform
import Protocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public final class StoredFileProbe: Sendable {
    public enum Outcome: Equatable, Sendable {
        /// This very file is stored (§8.7): Committed.
        case stored(UploadReceipt)
        /// Nothing of that name: the client sends the file.
        case absent
        /// `exists`, or any refusal an upload of the file would get at Open.
        case refused(StoreFailure)
    }

    public let path: StoredPath
    private let context: UploadJobs.Context

    public init(store: Store, path: StoredPath, size: UInt64, digest: [UInt8]) {
        self.path = path
        context = UploadJobs.Context(
            store: store, path: path, partName: store.rules.partName(identity: path.identity, relativePath: path.relativePath),
            size: size, expectedDigest: digest, overwrite: false, durable: false, reserve: 0, resumable: false)
    }

    public func run(executor: BlockingExecutor, then completion: @escaping (Outcome) -> Void) {
        let context = self.context
        executor.run({ Self.probe(context) }, then: completion)
    }

    static func probe(_ context: UploadJobs.Context) -> Outcome {
        let directory: Int32
        switch openChain(context.path.directoryComponents, below: context.store.root) {
        case .success(nil): return .absent
        case .success(let found?): directory = found
        case .failure(let refusal): return .refused(UploadJobs.refusal(refusal, context))
        }
        defer { DirectoryCalls.close(directory) }
        switch UploadJobs.existing(context, in: directory) {
        case .success(.alreadyStored(let receipt))?: return .stored(receipt)
        case .failure(let failure)?: return .refused(failure)
        case .success(.upload)?: return .absent  // not an answer existing() gives
        case nil: break
        }
        if let refused = UploadJobs.checkFinalName(context, in: directory) { return .refused(refused) }
        do { try DirectoryCalls.checkWritable(directory) } catch {
            return .refused(.system(error, while: "storing '\(context.path.relativePath)'", at: UploadJobs.serverPath(context)))
        }
        return .absent
    }

    /// The directory of the file, opened read only with no link followed; nil when a component does not exist.
    static func openChain(_ components: [String], below root: Int32) -> Result<Int32?, TreeRefusal> {
        do {
            return .success(try DirectoryCalls.openBeneath(components.joined(separator: "/"), in: root,
                                                           flags: O_RDONLY | O_DIRECTORY))
        } catch where error.number == ENOENT {
            return .success(nil)
        } catch {
            // A link, a file in the way, no openat2 here: the walk says which component, or finds it all the same.
        }
        var current = root
        defer { if current != root { DirectoryCalls.close(current) } }
        for (depth, component) in components.enumerated() {
            do {
                let next = try DirectoryCalls.openDirectory(component, in: current)
                if current != root { DirectoryCalls.close(current) }
                current = next
            } catch {
                switch error.number {
                case ENOENT: return .success(nil)
                case ENOTDIR, ELOOP:
                    // O_DIRECTORY | O_NOFOLLOW on a link fails with ENOTDIR (ELOOP without O_DIRECTORY): look at it.
                    let kind = (try? DirectoryCalls.status(of: component, in: current))??.kind
                    return .failure(kind == .symbolicLink ? .symbolicLink(depth: depth + 1) : .notADirectory(depth: depth + 1))
                default: return .failure(.system(error))
                }
            }
        }
        let found = current
        current = root  // handed to the caller: not closed here
        return .success(found)
    }
}
