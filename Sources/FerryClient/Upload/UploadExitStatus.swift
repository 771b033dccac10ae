// The exit status of `ferry upload` (issue #15, point 9), from typed outcomes: each failed file carries the kind of
// its failure, set where it happened (the resolver, the connect loop, the handshake, the timeouts), never read back
// out of a message. The values are sysexits(3)'s, so a script or a cron wrapper can tell "try again later" from
// "fix the setup" from "some files failed"; `ferry help upload` and the README list them.
import ArgumentParser
import Foundation
import Protocol

/// Why a file failed, as far as the exit status is concerned.
enum FailureKind: Sendable, Hashable {
    /// That file alone (missing, unreadable, refused by the server), or a connection lost after it was established.
    case other
    /// The server's name did not resolve, no address accepted the connection (refused, unreachable, the connect
    /// timeout), or the server turned the session away for now (at its session limit, shutting down).
    case unreachable
    /// The handshake failed: the server's certificate is not trusted or not for that name, the server refused ours,
    /// or no common algorithm.
    case refused
    /// The server accepted the connection, then stopped answering (--handshake-timeout, --timeout).
    case timeout

    /// The kind of the session failure the engine gave up on (RetryPolicy had no more tries, or it was not
    /// retryable). Of the alerts, the server's two ways of saying "not now" (the session limit; a close because it
    /// drains or gave up waiting) are no statement about certificates; every other one is a refusal.
    init(_ failure: SessionFailure) {
        switch failure.kind {
        case .unresolvable, .resolverUnavailable, .cannotConnect: self = .unreachable
        case .timedOut: self = .timeout
        case .alert(.tooManySessions, _), .alert(.closedByPeer, _): self = .unreachable
        case .alert: self = .refused
        case .connectionLost, .busy, .local: self = .other
        }
    }
}

enum UploadExitStatus {
    /// Some files failed, for mixed reasons or for reasons of their own (EXIT_FAILURE: what it always was).
    static let filesFailed: Int32 = 1
    /// EX_USAGE: the command line is wrong (ArgumentParser's own status for a ValidationError). Nothing was tried.
    static let usage: Int32 = 64
    /// EX_UNAVAILABLE ("a service is unavailable"): the server could not be resolved or reached. EX_NOHOST (68)
    /// would name only the resolver's case; one status for "the server is not there" is what a script tests.
    static let unreachable: Int32 = 69
    /// EX_TEMPFAIL ("try again later"): the server accepted the connection and stopped answering.
    static let timeout: Int32 = 75
    /// EX_NOPERM: the handshake was refused, by us (the server's certificate) or by the server (ours): retrying
    /// cannot help until a certificate or the configuration changes.
    static let refused: Int32 = 77
    /// EX_CONFIG: the client configuration file or the CA, certificate or key it names (or the options name) cannot
    /// be read or used. Nothing was tried.
    static let configuration: Int32 = 78

    /// The run was interrupted by SIGINT (Ctrl-C) or SIGTERM and some files are not done: 128 + the signal, what a
    /// shell reports for a command the signal ended (130, 143), so a script tells "stopped" from "failed".
    static func interrupted(by signal: Int32) -> Int32 { 128 + signal }

    /// Interrupted (a file not done because the run was stopped): 128 + the signal. Else 0 when nothing failed
    /// (skipped entries do not count); when every file failed and all for one kind of reason, that reason's status;
    /// otherwise 1. Some files stored beside a timeout is "some files failed": the status of a connection-wide
    /// reason is kept for when nothing got through.
    static func of(_ results: [FileResult]) -> Int32 {
        if let interruption = results.lazy.compactMap(\.interruption).first { return interrupted(by: interruption.signal) }
        let failed = results.filter { $0.error != nil }
        guard !failed.isEmpty else { return 0 }
        guard failed.count == results.filter({ $0.skipped == nil }).count else { return filesFailed }
        let kinds = Set(failed.map(\.failure))
        guard kinds.count == 1, let kind = kinds.first else { return filesFailed }
        switch kind {
        case .other: return filesFailed
        case .unreachable: return unreachable
        case .refused: return refused
        case .timeout: return timeout
        }
    }

    /// A runtime failure before any file was tried: printed as it is, without the usage text a ValidationError
    /// brings, and `status` as the exit status.
    static func fail(_ message: String, status: Int32, command: String = "upload") -> ExitCode {
        FileHandle.standardError.write(Data("ferry \(command): \(message)\n".utf8))
        return ExitCode(status)
    }
}
