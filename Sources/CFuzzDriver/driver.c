// SwiftPM links every executable with `--defsym main=<Module>_main`, so libFuzzer's own main() never runs; the Swift
// main calls libFuzzer's driver instead (notes: swift-libuv-openssl.md, "Fuzzing"). The symbol is weak so that a
// plain `swift build`, which links no libFuzzer, still links every fuzz target.
#include "CFuzzDriver.h"

#include <stdio.h>
#include <stdlib.h>

extern int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *, size_t))
    __attribute__((weak));

void cfuzz_main(int argc, char **argv, cfuzz_prepare prepare, cfuzz_callback callback) {
    if (!LLVMFuzzerRunDriver) {
        fprintf(stderr, "not a fuzzer build: build with scripts/fuzz (swift build -Xswiftc -sanitize=fuzzer,address)\n");
        exit(2);
    }
    if (prepare) prepare();
    exit(LLVMFuzzerRunDriver(&argc, &argv, callback));
}
