// libFuzzer target: the upload message decoders (Open, Accepted, Close, Committed, UploadError, Abort) and the store's
// (Stat, StatResult, List, ListPage, Get, GetHeader; OperationError is UploadError's body). See docs/FUZZING.md.
import CFuzzDriver
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    MessageFuzzer.run(fuzzInputBytes(data, size), family: .upload)
    return 0
}

cfuzz_main(CommandLine.argc, CommandLine.unsafeArgv, nil, fuzzOne)
