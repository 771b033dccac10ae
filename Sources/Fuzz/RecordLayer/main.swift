// libFuzzer target: the record layer (framing, limits, opening) on arbitrary streams. See docs/FUZZING.md.
import CFuzzDriver
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    RecordLayerFuzzer.run(fuzzInputBytes(data, size))
    return 0
}

cfuzz_main(CommandLine.argc, CommandLine.unsafeArgv, nil, fuzzOne)
