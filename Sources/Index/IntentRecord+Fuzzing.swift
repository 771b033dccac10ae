// The journal decoder's entry for the fuzz target FuzzIntentJournal (docs/FUZZING.md): IntentRecord stays internal,
// and the fuzz executable, built in release too, cannot reach it through @testable. What a journal file holds after a
// power cut, a bad disk or someone's editor is read at every start, so the decoder must take any bytes.
extension IntentRecord {
    /// Decodes `bytes` as a journal file; every intent read must encode to bytes that decode to the same intents (the
    /// decoder accepts only what the encoder writes). A difference is a bug of ours: it stops the fuzzer, which keeps
    /// the input.
    package static func fuzz(_ bytes: [UInt8]) {
        let intents = decodeAll(bytes)
        let again = decodeAll(intents.flatMap(encode))
        guard again == intents else {
            fatalError("journal records decoded from \(bytes.count) bytes do not survive encoding: \(intents) vs \(again)")
        }
    }
}
