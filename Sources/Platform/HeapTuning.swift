// Large buffers and glibc's heap. The daemon's upload buffers are megabytes each; by default glibc raises its mmap
// threshold to the size of the largest block freed (up to 32 MiB), after which blocks that size come from the heap
// and stay there when freed — a daemon's RSS then keeps the high-water mark of a past upload. A fixed threshold keeps
// them mmapped: freed, they go back to the system at once, and growing one is an mremap, not a copy.
internal import CPlatform

public enum HeapTuning {
    /// Allocations of at least `bytes` are always mmapped. Call once, before the loops start. False where the C
    /// library has no such setting.
    @discardableResult
    public static func mapBlocks(atLeast bytes: Int) -> Bool {
        cplatform_malloc_mmap_threshold(Int32(clamping: bytes)) == 1
    }
}
