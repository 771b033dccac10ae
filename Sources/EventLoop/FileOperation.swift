// One asynchronous libuv file-system operation: a uv_fs_t allocated per operation, with this context retained
// through `req.data` while a request is in flight.
//
//     submit ──uv_fs_X ok──▶ in flight ──fs callback──▶ uv_fs_req_cleanup ──▶ continuation(result)
//        │                                                                       │
//        └──uv_fs_X < 0──▶ EventLoop.enqueue ──▶ continuation(rc)            may submit again (short writes,
//                                                                             fsyncDirectory's open/fsync/close)
// The request and any data buffer are freed in deinit, i.e. after the last continuation let go of the operation.
// Continuations run on the loop thread, never inside the call that submitted them.
internal import CLibUV

final class FileOperation {
    typealias Start = (UnsafeMutablePointer<uv_loop_t>, UnsafeMutablePointer<uv_fs_t>, uv_fs_cb) -> Int32
    /// Receives `req.result` (or the synchronous error) and the request, whose `statbuf` is still readable.
    typealias Continuation = (Int, UnsafeMutablePointer<uv_fs_t>) -> Void

    let loop: EventLoop
    let request: UnsafeMutablePointer<uv_fs_t>
    private var continuation: Continuation?
    /// A data buffer owned by the operation (write payload, read destination); freed in deinit.
    var buffer: UnsafeMutableRawBufferPointer?

    init(loop: EventLoop) {
        precondition(!loop.isClosed, "FileIO on a closed EventLoop")
        self.loop = loop
        request = UnsafeMutablePointer<uv_fs_t>.allocate(capacity: 1)
        request.initialize(to: uv_fs_t())
    }

    deinit {
        request.deallocate()
        buffer?.deallocate()
    }

    /// Starts one uv_fs_* call with `start(loop, req, callback)`; `then` runs with its result on the loop thread.
    func submit(_ start: Start, then continuation: @escaping Continuation) {
        precondition(self.continuation == nil, "FileOperation submitted twice")
        self.continuation = continuation
        let retained = Unmanaged.passRetained(self)
        request.pointee.data = retained.toOpaque()
        let rc = start(loop.raw, request, fileOperationDidComplete)
        if rc < 0 {
            // libuv will not call back; report the error from a later loop iteration instead.
            retained.release()
            uv_fs_req_cleanup(request)
            loop.enqueue { [self] in complete(result: Int(rc)) }
        }
    }

    fileprivate func complete(result: Int) {
        let continuation = self.continuation!
        self.continuation = nil
        continuation(result, request)
    }
}

private func fileOperationDidComplete(_ request: UnsafeMutablePointer<uv_fs_t>?) {
    let request = request!
    let operation = Unmanaged<FileOperation>.fromOpaque(request.pointee.data!).takeRetainedValue()
    let result = uv_fs_get_result(request)
    // Frees libuv's copies of the path(s) and buffer list; statbuf is a field of the request and stays readable.
    uv_fs_req_cleanup(request)
    operation.complete(result: result)
}
