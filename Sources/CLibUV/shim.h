/* The one C face of libuv for Swift. Only macros and helpers that do not import go here. */
#ifndef FERRY_CLIBUV_SHIM_H
#define FERRY_CLIBUV_SHIM_H
#include <uv.h>
#include <sys/socket.h>
#include <errno.h>

/* libuv 1.44 (Debian 12) has no UV_TCP_REUSEPORT (added in 1.49): set SO_REUSEPORT on the socket ourselves.
 * Call after uv_tcp_init_ex(loop, t, AF_INET or AF_INET6) and before uv_tcp_bind. */
static inline int clibuv_tcp_set_reuseport(uv_tcp_t *tcp) {
    uv_os_fd_t fd;
    int rc = uv_fileno((const uv_handle_t *)tcp, &fd);
    if (rc) return rc;
    int one = 1;
    return setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) ? uv_translate_sys_error(errno) : 0;
}

#ifdef __linux__
#include <stdint.h>
#include <sys/types.h>
/* glibc declares sync_file_range(2) only under _GNU_SOURCE, which Swift's Glibc module is not built with. */
extern int sync_file_range(int fd, off_t offset, off_t nbytes, unsigned int flags);
/* Starts writeback of a file range without waiting for it (SYNC_FILE_RANGE_WRITE = 2, <bits/fcntl-linux.h>). */
static inline int clibuv_start_writeback(int fd, int64_t offset, int64_t length) {
    return sync_file_range(fd, (off_t)offset, (off_t)length, 2);
}

/* O_DIRECT: glibc declares it only under _GNU_SOURCE (see above), and its value is per architecture
 * (<asm/fcntl.h>, which cannot be included next to glibc's <fcntl.h>). 0 where unknown: no direct I/O there. */
#if defined(O_DIRECT)
#define CLIBUV_O_DIRECT_VALUE O_DIRECT
#elif defined(__x86_64__) || defined(__i386__) || defined(__riscv) || defined(__s390x__) || defined(__loongarch__)
#define CLIBUV_O_DIRECT_VALUE 040000
#elif defined(__aarch64__) || defined(__arm__)
#define CLIBUV_O_DIRECT_VALUE 0200000
#else
#define CLIBUV_O_DIRECT_VALUE 0
#endif
static inline int clibuv_o_direct(void) { return CLIBUV_O_DIRECT_VALUE; }
#endif
#endif

/* glibc's mmap threshold for malloc (M_MMAP_THRESHOLD, <malloc.h>, which Swift's Glibc module does not export). Set
 * once, it stops glibc from raising the threshold to the size of each large block freed, so multi-megabyte buffers stay
 * mmapped and go back to the system when freed instead of staying in the heap. Returns 1 on success. */
#if defined(__GLIBC__)
#include <malloc.h>
static inline int clibuv_malloc_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }
#else
static inline int clibuv_malloc_mmap_threshold(int bytes) { (void)bytes; return 0; }
#endif
