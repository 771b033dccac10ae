// libFuzzer target: every group's key-share checks, as responder and initiator. See docs/FUZZING.md.
import CFuzzDriver
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    KeyShareFuzzer.run(fuzzInputBytes(data, size))
    return 0
}

cfuzz_main(CommandLine.argc, CommandLine.unsafeArgv, nil, fuzzOne)
