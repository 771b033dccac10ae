// libFuzzer target: the metadata index's intent journal decoder (a file read at every start). See docs/FUZZING.md.
import CFuzzDriver
import FuzzSupport
import Index

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    IntentRecord.fuzz(fuzzInputBytes(data, size))
    return 0
}

cfuzz_main(CommandLine.argc, CommandLine.unsafeArgv, nil, fuzzOne)
