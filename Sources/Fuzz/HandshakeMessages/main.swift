// libFuzzer target: every handshake message decoder, and the certificate and signature checks. See docs/FUZZING.md.
import CFuzzDriver
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    MessageFuzzer.run(fuzzInputBytes(data, size), family: .handshake)
    return 0
}

cfuzz_main(CommandLine.argc, CommandLine.unsafeArgv, nil, fuzzOne)
