// The libFuzzer driver for Ferry's fuzz targets (docs/FUZZING.md).
#ifndef CFUZZDRIVER_H
#define CFUZZDRIVER_H

#include <stddef.h>
#include <stdint.h>

typedef int (*cfuzz_callback)(const uint8_t *data, size_t size);
typedef void (*cfuzz_prepare)(void);

/// Runs libFuzzer with the process's arguments and `callback` as the target, after `prepare` (may be NULL: work
/// done once, before the first input), and exits with libFuzzer's status. In a build without `-sanitize=fuzzer`
/// there is no libFuzzer: prints "not a fuzzer build" and exits with 2.
void cfuzz_main(int argc, char **argv, cfuzz_prepare prepare, cfuzz_callback callback) __attribute__((noreturn));

#endif
