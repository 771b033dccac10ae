// The failure a test helper throws: one message saying what went wrong (a process that could not start, a socket
// that would not bind, a command that failed).

public struct TestError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}
