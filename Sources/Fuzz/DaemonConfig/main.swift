// libFuzzer target: ferryd.toml's loader, and its effective configuration loaded back. See docs/FUZZING.md.
import CFuzzDriver
import ConfigFuzzSupport
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    DaemonConfigFuzzer.run(fuzzInputBytes(data, size))
    return 0
}

cfuzz_main(CommandLine.argc, CommandLine.unsafeArgv, nil, fuzzOne)
