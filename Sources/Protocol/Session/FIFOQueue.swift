// A first-in, first-out queue whose pops are O(1) and whose storage stays bounded by what it holds: the pipelined
// uploads waiting for their answers (PROTOCOL.md §8.10), on both sides. Popped elements stay in the array until they
// are at least 64 and at least half of it — a long pipeline may never empty, and without compaction the array would
// keep every upload of the session — or until the queue empties.
public struct FIFOQueue<Element> {
    private var elements: [Element] = []
    /// Elements before `head` were popped.
    private var head = 0

    public init() {}

    public var isEmpty: Bool { head == elements.count }
    public var count: Int { elements.count - head }
    public var first: Element? { isEmpty ? nil : elements[head] }
    /// The elements, oldest first.
    public var all: ArraySlice<Element> { elements[head...] }
    /// Elements stored, popped ones not yet compacted included (what the queue costs; for tests).
    var storedCount: Int { elements.count }

    public mutating func append(_ element: Element) { elements.append(element) }

    public mutating func popFirst() -> Element? {
        guard !isEmpty else { return nil }
        let first = elements[head]
        head += 1
        if head == elements.count {
            elements.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64, head * 2 >= elements.count {
            elements.removeFirst(head)
            head = 0
        }
        return first
    }

    /// The element `offset` places after the oldest.
    subscript(offset offset: Int) -> Element {
        get { elements[head + offset] }
        set { elements[head + offset] = newValue }
    }
}
