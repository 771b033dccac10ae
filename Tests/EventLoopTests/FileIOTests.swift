// FileIO against a temporary directory; results are read back with Foundation. Each completion must run once.
import EventLoop
import Foundation
import TestSupport
import XCTest

/// Runs asynchronous steps one after another: each step gets a `next` to call when its completion has run.
private final class StepSequence {
    private var steps: [(name: String, body: (@escaping () -> Void) -> Void)] = []
    private(set) var calls: [String: Int] = [:]
    private(set) var finished = false

    func step(_ name: String, _ body: @escaping (@escaping () -> Void) -> Void) {
        steps.append((name, body))
    }

    func start() { runNext() }

    private func runNext() {
        guard !steps.isEmpty else { finished = true; return }
        let (name, body) = steps.removeFirst()
        body { [self] in
            calls[name, default: 0] += 1
            runNext()
        }
    }
}

final class FileIOTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory("eventloop").url
    }

    func testFileOperationsEndToEnd() throws {
        let loop = try EventLoop()
        let sub = directory.appendingPathComponent("incoming").path
        let part = sub + "/upload.part"
        let final = sub + "/upload.bin"
        let big = Pattern.bytes(from: 0, count: 3 << 20)  // large enough for the pool to split nothing, still exact
        var fd: Int32 = -1
        var readBack: [UInt8] = []
        var readAtEnd: [UInt8]?
        var statAfterWrite: FileStatus?
        var statOfDirectory: FileStatus?
        var statAfterRename: FileStatus??
        var statOfPartAfterRename: FileStatus?? = .some(.none)
        var errors: [String: UVError] = [:]
        let steps = StepSequence()

        func expectSuccess<T>(_ result: Result<T, UVError>, _ what: String, _ file: StaticString = #filePath,
                              _ line: UInt = #line) -> T? {
            switch result {
            case .success(let value): return value
            case .failure(let error): XCTFail("\(what): \(error)", file: file, line: line); return nil
            }
        }

        steps.step("mkdir") { next in
            FileIO.mkdir(loop, path: sub, mode: 0o700) { _ = expectSuccess($0, "mkdir"); next() }
        }
        steps.step("mkdir again") { next in
            FileIO.mkdir(loop, path: sub, mode: 0o700) { result in
                if case .failure(let error) = result { errors["mkdir again"] = error }
                next()
            }
        }
        steps.step("open") { next in
            FileIO.open(loop, path: part, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600) { result in
                fd = expectSuccess(result, "open") ?? -1
                next()
            }
        }
        // Three writes at explicit offsets, out of order: "world" at 6, "hello " at 0, "!" at 11.
        for (text, offset) in [("world", 6), ("hello ", 0), ("!", 11)] {
            steps.step("write \(offset)") { next in
                FileIO.write(loop, fd: fd, bytes: Array(text.utf8), offset: Int64(offset)) { result in
                    XCTAssertEqual(expectSuccess(result, "write"), text.utf8.count)
                    next()
                }
            }
        }
        steps.step("write big") { next in
            FileIO.write(loop, fd: fd, bytes: big, offset: 12) { result in
                XCTAssertEqual(expectSuccess(result, "write big"), big.count)
                next()
            }
        }
        steps.step("fsync") { next in FileIO.fsync(loop, fd: fd) { _ = expectSuccess($0, "fsync"); next() } }
        steps.step("close") { next in FileIO.close(loop, fd: fd) { _ = expectSuccess($0, "close"); next() } }
        steps.step("stat") { next in
            FileIO.stat(loop, path: part) { statAfterWrite = expectSuccess($0, "stat") ?? nil; next() }
        }
        steps.step("stat dir") { next in
            FileIO.stat(loop, path: sub) { statOfDirectory = expectSuccess($0, "stat dir") ?? nil; next() }
        }
        steps.step("rename") { next in
            FileIO.rename(loop, from: part, to: final) { _ = expectSuccess($0, "rename"); next() }
        }
        steps.step("fsyncDirectory") { next in
            FileIO.fsyncDirectory(loop, path: sub) { _ = expectSuccess($0, "fsyncDirectory"); next() }
        }
        steps.step("stat renamed") { next in
            FileIO.stat(loop, path: final) { statAfterRename = expectSuccess($0, "stat renamed"); next() }
        }
        steps.step("stat old name") { next in
            FileIO.stat(loop, path: part) { statOfPartAfterRename = expectSuccess($0, "stat old"); next() }
        }
        steps.step("open for read") { next in
            FileIO.open(loop, path: final, flags: O_RDONLY, mode: 0) { fd = expectSuccess($0, "open r") ?? -1; next() }
        }
        steps.step("read head") { next in
            FileIO.read(loop, fd: fd, count: 12, offset: 0) { readBack = expectSuccess($0, "read") ?? []; next() }
        }
        steps.step("read at end") { next in
            FileIO.read(loop, fd: fd, count: 4096, offset: Int64(12 + big.count)) {
                readAtEnd = expectSuccess($0, "read at end")
                next()
            }
        }
        steps.step("close read fd") { next in FileIO.close(loop, fd: fd) { _ = expectSuccess($0, "close r"); next() } }
        steps.step("close bad fd") { next in
            FileIO.close(loop, fd: fd) { result in  // already closed: EBADF is reported, not trapped
                if case .failure(let error) = result { errors["close bad fd"] = error }
                next()
            }
        }
        steps.step("verify with Foundation") { next in
            let data = FileManager.default.contents(atPath: final).map { [UInt8]($0) }
            XCTAssertEqual(data.map { Array($0.prefix(12)) }, Array("hello world!".utf8))
            XCTAssertEqual(data.map { Array($0.dropFirst(12)) }, big)
            XCTAssertFalse(FileManager.default.fileExists(atPath: part))
            next()
        }
        steps.step("unlink") { next in FileIO.unlink(loop, path: final) { _ = expectSuccess($0, "unlink"); next() } }
        steps.step("unlink again") { next in
            FileIO.unlink(loop, path: final) { result in
                if case .failure(let error) = result { errors["unlink again"] = error }
                next()
            }
        }
        steps.step("open missing") { next in
            FileIO.open(loop, path: sub + "/missing/x", flags: O_RDONLY, mode: 0) { result in
                if case .failure(let error) = result { errors["open missing"] = error }
                next()
            }
        }
        steps.step("fsyncDirectory missing") { next in
            FileIO.fsyncDirectory(loop, path: sub + "/missing") { result in
                if case .failure(let error) = result { errors["fsyncDirectory missing"] = error }
                next()
            }
        }

        steps.start()
        XCTAssertTrue(steps.calls.isEmpty, "no completion may run inside the call that started it")
        runLoop(loop, timeoutMilliseconds: 20_000)

        XCTAssertTrue(steps.finished)
        XCTAssertEqual(steps.calls.count, 25)
        XCTAssertTrue(steps.calls.values.allSatisfy { $0 == 1 }, "\(steps.calls)")
        XCTAssertEqual(statAfterWrite?.size, UInt64(12 + big.count))
        XCTAssertEqual(statAfterWrite?.isRegularFile, true)
        XCTAssertEqual(statAfterWrite?.isDirectory, false)
        XCTAssertEqual(statAfterWrite?.permissions, 0o600)
        XCTAssertEqual(statOfDirectory?.isDirectory, true)
        XCTAssertEqual(statOfDirectory?.permissions, 0o700)
        XCTAssertEqual(statAfterRename??.size, UInt64(12 + big.count))
        XCTAssertEqual(statOfPartAfterRename, .some(.none), "stat of a missing path is nil, not an error")
        XCTAssertEqual(readBack, Array("hello world!".utf8))
        XCTAssertEqual(readAtEnd, [])
        XCTAssertEqual(errors["mkdir again"]?.code, UVError.fileExists)
        XCTAssertEqual(errors["mkdir again"]?.function, "uv_fs_mkdir")
        XCTAssertEqual(errors["close bad fd"]?.code, UVError.badFileDescriptor)
        XCTAssertEqual(errors["unlink again"]?.code, UVError.noSuchFile)
        XCTAssertEqual(errors["open missing"]?.name, "ENOENT")
        XCTAssertEqual(errors["fsyncDirectory missing"]?.code, UVError.noSuchFile)
        XCTAssertTrue(loop.close())
    }

    /// Consecutive writes at the current position (-1) append in order.
    func testWritesAtCurrentPositionAppend() throws {
        let loop = try EventLoop()
        let path = directory.appendingPathComponent("append.log").path
        var completions = 0
        FileIO.open(loop, path: path, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644) { result in
            guard case .success(let fd) = result else { return XCTFail("open") }
            FileIO.write(loop, fd: fd, bytes: Array("one,".utf8), offset: -1) { first in
                XCTAssertEqual(try? first.get(), 4)
                completions += 1
                FileIO.write(loop, fd: fd, bytes: Array("two".utf8), offset: -1) { second in
                    XCTAssertEqual(try? second.get(), 3)
                    completions += 1
                    FileIO.close(loop, fd: fd) { _ in completions += 1 }
                }
            }
        }
        runLoop(loop)
        XCTAssertEqual(completions, 3)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "one,two")
        XCTAssertTrue(loop.close())
    }

    func testStatReportsMissingPathAsNil() throws {
        let loop = try EventLoop()
        var results: [Result<FileStatus?, UVError>] = []
        FileIO.stat(loop, path: directory.appendingPathComponent("nope").path) { results.append($0) }
        runLoop(loop)
        XCTAssertEqual(results.count, 1)
        XCTAssertEqual(try results.first?.get(), .some(nil))
        XCTAssertTrue(loop.close())
    }
}
