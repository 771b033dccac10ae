// `ferry loadtest --mix`: the weights as parsed (every refusal with its message), the weighted pick, and the seeded
// streams that make a mixed run reproducible.
import XCTest
@testable import FerryClient

final class OperationMixTests: XCTestCase {
    private func refusal(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            let mix = try OperationMix.parse(text)
            XCTFail("accepted \"\(text)\": \(mix)", file: file, line: line)
            return ""
        } catch {
            return error.message
        }
    }

    func testWeightsParsed() throws {
        let mix = try OperationMix.parse("put=70,get=20,list=10")
        XCTAssertEqual(mix.weights, [70, 20, 10])
        XCTAssertEqual(mix.total, 100)
        XCTAssertEqual(mix.active, [.put, .get, .list])
        XCTAssertTrue(mix.needsStore)
        XCTAssertEqual(mix.text, "put=70,get=20,list=10")

        // Any order, any case, spaces around the parts; an operation not named weighs 0.
        let some = try OperationMix.parse(" LIST = 3 ,put=1")
        XCTAssertEqual(some.weights, [1, 0, 3])
        XCTAssertEqual(some.active, [.put, .list])
        XCTAssertEqual(some.text, "put=1,get=0,list=3")

        let putOnly = try OperationMix.parse("put=5,get=0")
        XCTAssertEqual(putOnly.active, [.put])
        XCTAssertFalse(putOnly.needsStore, "a put-only mix needs no store feature")
        XCTAssertEqual(try OperationMix.parse("get=1000000").weight(.get), OperationMix.maximumWeight)
    }

    func testRefusals() {
        XCTAssertEqual(refusal("put=70,copy=5"), "--mix: unknown operation \"copy\" (put, get, list)")
        XCTAssertEqual(refusal("stat=1"), "--mix: unknown operation \"stat\" (put, get, list)")
        for weight in ["1.5", "-1", "+5", "", "x", "1e3", "0x10", "1000001", "99999999999999999999999"] {
            XCTAssertEqual(refusal("put=\(weight)"), "--mix: put=\(weight): a weight is a whole number 0...1000000", weight)
        }
        XCTAssertEqual(refusal("put=0,get=0,list=0"), "--mix: every weight is 0; at least one must be above 0")
        XCTAssertEqual(refusal("list=0"), "--mix: every weight is 0; at least one must be above 0")
        XCTAssertEqual(refusal("put=1,put=2"), "--mix: put is given twice")
        XCTAssertEqual(refusal("put=1,PUT=2"), "--mix: put is given twice")
        XCTAssertEqual(refusal("put"), "--mix: \"put\" is not OPERATION=WEIGHT (e.g. put=70,get=20,list=10)")
        XCTAssertEqual(refusal(""), "--mix: \"\" is not OPERATION=WEIGHT (e.g. put=70,get=20,list=10)")
        XCTAssertEqual(refusal("put=1,,get=1"), "--mix: \"\" is not OPERATION=WEIGHT (e.g. put=70,get=20,list=10)")
        XCTAssertEqual(refusal("put=1,"), "--mix: \"\" is not OPERATION=WEIGHT (e.g. put=70,get=20,list=10)")
        XCTAssertTrue(refusal("get=1=2").contains("get=1=2: a weight is a whole number"), refusal("get=1=2"))
        XCTAssertEqual(refusal("put=\u{1B}[31m"), "--mix: put=?[31m: a weight is a whole number 0...1000000",
                       "a control character is not echoed to the terminal")
    }

    func testDrawsFallOnTheWeightsLaidEndToEnd() throws {
        let mix = try OperationMix.parse("put=2,get=0,list=3")
        XCTAssertEqual((0..<5).map { mix.operation(at: $0) }, [.put, .put, .list, .list, .list])
        let single = try OperationMix.parse("get=1")
        XCTAssertEqual(single.operation(at: 0), .get)
    }

    func testSplitMix64MatchesTheReferenceAndBoundsAreUniform() {
        // The reference outputs of SplitMix64 from seed 0 (Vigna's splitmix64.c).
        var generator = SplitMix64(seed: 0)
        XCTAssertEqual(generator.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(generator.next(), 0x6E78_9E6A_A1B9_65F4)
        XCTAssertEqual(generator.next(), 0x06C4_5D18_8009_454F)

        var bounded = SplitMix64(seed: 42)
        XCTAssertTrue((0..<100).allSatisfy { _ in bounded.below(1) == 0 })
        var seen = [0, 0, 0]
        for _ in 0..<3_000 { seen[Int(bounded.below(3))] += 1 }
        XCTAssertTrue(seen.allSatisfy { (800...1_200).contains($0) }, "\(seen)")
        XCTAssertLessThan(bounded.below(UInt64.max), UInt64.max)
    }

    func testPicksFollowTheWeightsAndNeverAZeroWeight() throws {
        let mix = try OperationMix.parse("put=70,get=20,list=10")
        var picker = OperationPicker(mix: mix, seed: 1, slot: 0, iteration: 0)
        var counts: [LoadOperation: Int] = [:]
        for _ in 0..<100_000 { counts[picker.next(), default: 0] += 1 }
        // A fixed seed: these counts are the same on every run; the bounds say they follow the weights.
        XCTAssertEqual(Double(counts[.put] ?? 0) / 1_000, 70, accuracy: 1, "\(counts)")
        XCTAssertEqual(Double(counts[.get] ?? 0) / 1_000, 20, accuracy: 1, "\(counts)")
        XCTAssertEqual(Double(counts[.list] ?? 0) / 1_000, 10, accuracy: 1, "\(counts)")

        var noGets = OperationPicker(mix: try OperationMix.parse("put=1,get=0,list=1"), seed: 7, slot: 3, iteration: 2)
        XCTAssertFalse((0..<10_000).contains { _ in noGets.next() == .get })

        var files = OperationPicker(mix: mix, seed: 1, slot: 0, iteration: 0)
        var fileCounts = [Int](repeating: 0, count: 16)
        for _ in 0..<16_000 { fileCounts[files.file(of: 16)] += 1 }
        XCTAssertTrue(fileCounts.allSatisfy { $0 > 700 }, "every staged file is read: \(fileCounts)")
    }

    func testTheSameSeedAndPlaceGiveTheSameOperations() throws {
        let mix = try OperationMix.parse("put=60,get=30,list=10")
        func sequence(seed: UInt64, slot: Int, iteration: Int) -> [LoadOperation] {
            var picker = OperationPicker(mix: mix, seed: seed, slot: slot, iteration: iteration)
            return (0..<64).map { _ in picker.next() }
        }
        XCTAssertEqual(sequence(seed: 1, slot: 3, iteration: 0), sequence(seed: 1, slot: 3, iteration: 0))
        XCTAssertNotEqual(sequence(seed: 1, slot: 3, iteration: 0), sequence(seed: 2, slot: 3, iteration: 0), "another seed")
        XCTAssertNotEqual(sequence(seed: 1, slot: 3, iteration: 0), sequence(seed: 1, slot: 4, iteration: 0), "another slot")
        XCTAssertNotEqual(sequence(seed: 1, slot: 3, iteration: 0), sequence(seed: 1, slot: 3, iteration: 1), "another iteration")
        XCTAssertNotEqual(sequence(seed: 1, slot: 0, iteration: 1), sequence(seed: 1, slot: 1, iteration: 0),
                          "slot and iteration are not interchangeable")
    }
}
