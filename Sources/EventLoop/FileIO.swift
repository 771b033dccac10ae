// Asynchronous file operations on libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE says otherwise).
// Every completion runs exactly once, on the loop thread, in a later loop iteration than the call.
// Errors come back as UVError with the libuv function name; EBADF on a caller's fd is an error, not a trap.
internal import CLibUV

public enum FileIO {
    public typealias Completion<T> = (Result<T, UVError>) -> Void

    /// uv_fs_open. `flags` and `mode` as for open(2) (O_WRONLY | O_CREAT | O_EXCL, 0o600, ...).
    public static func open(_ loop: EventLoop, path: String, flags: Int32, mode: Int32,
                            _ completion: @escaping Completion<Int32>) {
        FileOperation(loop: loop).submit({ loop, req, cb in
            path.withCString { uv_fs_open(loop, req, $0, flags, mode, cb) }  // libuv copies the path
        }, then: { result, _ in
            completion(uvResult(result, "uv_fs_open").map { Int32(truncatingIfNeeded: $0) })
        })
    }

    /// uv_fs_write of all of `bytes` (copied once into memory the operation owns). A short write continues with
    /// the rest until everything is written; the result is `bytes.count`. `offset` -1 writes at the current
    /// position (and so appends in order for consecutive calls on an O_APPEND or fresh fd).
    public static func write(_ loop: EventLoop, fd: Int32, bytes: [UInt8], offset: Int64,
                             _ completion: @escaping Completion<Int>) {
        let operation = FileOperation(loop: loop)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        operation.buffer = buffer
        writeRemaining(operation, base: buffer.baseAddress!, fd: fd, written: 0, total: bytes.count, offset: offset,
                       completion)
    }

    private static func writeRemaining(_ operation: FileOperation, base start: UnsafeMutableRawPointer, fd: Int32,
                                       written: Int, total: Int, offset: Int64, _ completion: @escaping Completion<Int>) {
        let base = start + written
        operation.submit({ loop, req, cb in
            var buffer = uv_buf_init(base.assumingMemoryBound(to: CChar.self), UInt32(total - written))
            return uv_fs_write(loop, req, fd, &buffer, 1, offset, cb)  // libuv copies the uv_buf_t, not the bytes
        }, then: { result, _ in
            switch uvResult(result, "uv_fs_write") {
            case .failure(let error):
                completion(.failure(error))
            case .success(0) where total > written:
                completion(.failure(UVError(code: UV_EIO.rawValue, function: "uv_fs_write")))  // no progress
            case .success(let count) where written + count < total:
                let nextOffset = offset < 0 ? offset : offset + Int64(count)
                writeRemaining(operation, base: start, fd: fd, written: written + count, total: total,
                               offset: nextOffset, completion)
            case .success:
                completion(.success(total))
            }
        })
    }

    /// uv_fs_read of up to `count` bytes at `offset` (-1: current position). `[]` at end of file; fewer than
    /// `count` bytes is a normal short read.
    public static func read(_ loop: EventLoop, fd: Int32, count: Int, offset: Int64,
                            _ completion: @escaping Completion<[UInt8]>) {
        precondition(count >= 0 && count <= Int(UInt32.max), "FileIO.read of \(count) bytes")
        let operation = FileOperation(loop: loop)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        operation.buffer = buffer
        operation.submit({ loop, req, cb in
            var uvBuffer = uv_buf_init(buffer.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(count))
            return uv_fs_read(loop, req, fd, &uvBuffer, 1, offset, cb)
        }, then: { result, _ in
            completion(uvResult(result, "uv_fs_read").map { Array(UnsafeRawBufferPointer(rebasing: buffer[..<$0])) })
        })
    }

    /// uv_fs_fsync.
    public static func fsync(_ loop: EventLoop, fd: Int32, _ completion: @escaping Completion<Void>) {
        FileOperation(loop: loop).submit({ uv_fs_fsync($0, $1, fd, $2) }, then: { result, _ in
            completion(uvResult(result, "uv_fs_fsync").map { _ in })
        })
    }

    /// uv_fs_close.
    public static func close(_ loop: EventLoop, fd: Int32, _ completion: @escaping Completion<Void>) {
        FileOperation(loop: loop).submit({ uv_fs_close($0, $1, fd, $2) }, then: { result, _ in
            completion(uvResult(result, "uv_fs_close").map { _ in })
        })
    }

    /// uv_fs_rename (atomic within one file system; replaces `to`).
    public static func rename(_ loop: EventLoop, from: String, to: String, _ completion: @escaping Completion<Void>) {
        FileOperation(loop: loop).submit({ loop, req, cb in
            from.withCString { fromPath in to.withCString { uv_fs_rename(loop, req, fromPath, $0, cb) } }
        }, then: { result, _ in
            completion(uvResult(result, "uv_fs_rename").map { _ in })
        })
    }

    /// uv_fs_link (a hard link). Unlike rename it fails with EEXIST instead of replacing `to`, so publishing a
    /// finished file under its final name cannot race with another writer of that name.
    public static func link(_ loop: EventLoop, from: String, to: String, _ completion: @escaping Completion<Void>) {
        FileOperation(loop: loop).submit({ loop, req, cb in
            from.withCString { fromPath in to.withCString { uv_fs_link(loop, req, fromPath, $0, cb) } }
        }, then: { result, _ in
            completion(uvResult(result, "uv_fs_link").map { _ in })
        })
    }

    /// uv_fs_unlink.
    public static func unlink(_ loop: EventLoop, path: String, _ completion: @escaping Completion<Void>) {
        FileOperation(loop: loop).submit({ loop, req, cb in
            path.withCString { uv_fs_unlink(loop, req, $0, cb) }
        }, then: { result, _ in
            completion(uvResult(result, "uv_fs_unlink").map { _ in })
        })
    }

    /// uv_fs_mkdir. An existing directory is reported as EEXIST (`UVError.fileExists`); the caller decides.
    public static func mkdir(_ loop: EventLoop, path: String, mode: Int32, _ completion: @escaping Completion<Void>) {
        FileOperation(loop: loop).submit({ loop, req, cb in
            path.withCString { uv_fs_mkdir(loop, req, $0, mode, cb) }
        }, then: { result, _ in
            completion(uvResult(result, "uv_fs_mkdir").map { _ in })
        })
    }

    /// Makes a directory's entries durable (after a rename or create in it): open O_RDONLY|O_DIRECTORY, fsync,
    /// close. The directory is closed even when fsync fails; the first error is reported.
    public static func fsyncDirectory(_ loop: EventLoop, path: String, _ completion: @escaping Completion<Void>) {
        open(loop, path: path, flags: UV_FS_O_RDONLY | UV_FS_O_DIRECTORY, mode: 0) { opened in
            switch opened {
            case .failure(let error):
                completion(.failure(error))
            case .success(let fd):
                fsync(loop, fd: fd) { synced in
                    close(loop, fd: fd) { closed in
                        switch (synced, closed) {
                        case (.failure(let error), _), (.success, .failure(let error)): completion(.failure(error))
                        case (.success, .success): completion(.success(()))
                        }
                    }
                }
            }
        }
    }

    /// uv_fs_stat (follows symlinks). `nil` when the path does not exist (ENOENT); other errors fail.
    public static func stat(_ loop: EventLoop, path: String, _ completion: @escaping Completion<FileStatus?>) {
        FileOperation(loop: loop).submit({ loop, req, cb in
            path.withCString { uv_fs_stat(loop, req, $0, cb) }
        }, then: { result, request in
            if result == Int(UV_ENOENT.rawValue) { return completion(.success(nil)) }
            completion(uvResult(result, "uv_fs_stat").map { _ in FileStatus(request.pointee.statbuf) })
        })
    }
}
