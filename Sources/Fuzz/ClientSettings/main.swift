// libFuzzer target: client.toml's loader. See docs/FUZZING.md.
import CFuzzDriver
import ConfigFuzzSupport
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    ClientSettingsFuzzer.run(fuzzInputBytes(data, size))
    return 0
}

cfuzz_main(CommandLine.argc, CommandLine.unsafeArgv, nil, fuzzOne)
