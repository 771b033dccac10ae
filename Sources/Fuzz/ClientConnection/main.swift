// libFuzzer target: ClientConnection, raw and after a genuine handshake in memory. See docs/FUZZING.md.
import CFuzzDriver
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    SessionFuzzer.run(fuzzInputBytes(data, size), target: .client)
    return 0
}

// Every established session the inputs start from is made before the first input (SessionPrototypes.swift).
cfuzz_main(CommandLine.argc, CommandLine.unsafeArgv, { SessionPrototypes.prepare() }, fuzzOne)
