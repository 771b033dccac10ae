// What FileIO.stat reports: the few fields of uv_stat_t the daemon needs, in Swift types.
internal import CLibUV

public struct FileStatus: Equatable, Sendable {
    public var size: UInt64
    public var isDirectory: Bool
    public var isRegularFile: Bool
    /// Permission bits (st_mode & 0o7777).
    public var permissions: UInt32
    /// Last modification, seconds since the Unix epoch.
    public var modificationTimeSeconds: Int64

    public init(size: UInt64, isDirectory: Bool, isRegularFile: Bool, permissions: UInt32 = 0,
                modificationTimeSeconds: Int64 = 0) {
        self.size = size
        self.isDirectory = isDirectory
        self.isRegularFile = isRegularFile
        self.permissions = permissions
        self.modificationTimeSeconds = modificationTimeSeconds
    }

    // POSIX file-type bits (sys/stat.h); uv_stat_t.st_mode carries the platform's st_mode unchanged.
    private static let typeMask: UInt64 = 0o170000
    private static let directoryType: UInt64 = 0o040000
    private static let regularType: UInt64 = 0o100000

    init(_ stat: uv_stat_t) {
        let type = stat.st_mode & FileStatus.typeMask
        self.init(size: stat.st_size,
                  isDirectory: type == FileStatus.directoryType,
                  isRegularFile: type == FileStatus.regularType,
                  permissions: UInt32(truncatingIfNeeded: stat.st_mode & 0o7777),
                  modificationTimeSeconds: Int64(stat.st_mtim.tv_sec))
    }
}
