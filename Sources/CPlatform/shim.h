/* The C face of the Linux system calls the Platform target wraps that Swift's Glibc module cannot reach: those glibc
 * declares only under _GNU_SOURCE (which that module is not built with), macros whose value is per architecture, and
 * openat2(2), which glibc has no wrapper for. libuv's own C face is CLibUV; OpenSSL's is COpenSSL. */
#ifndef FERRY_CPLATFORM_SHIM_H
#define FERRY_CPLATFORM_SHIM_H
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <fcntl.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/syscall.h>
#include <linux/openat2.h>

/* openat2(2) (Linux 5.6) through syscall(2), which Swift cannot call (variadic). Returns the descriptor, or -1 with
 * errno set; ENOSYS where the kernel or the headers lack it. */
static inline int cplatform_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
#ifdef SYS_openat2
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = flags;
    how.mode = mode;
    how.resolve = resolve;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
#else
    (void)dirfd; (void)path; (void)flags; (void)mode; (void)resolve;
    errno = ENOSYS;
    return -1;
#endif
}
/* renameat2(2) with RENAME_NOREPLACE (Linux 3.15; ext4, xfs, btrfs, tmpfs): the rename fails with EEXIST instead of
 * replacing what has the new name, atomically. glibc declares renameat2 only under _GNU_SOURCE; the system call has
 * no variadic arguments, but syscall(2) has, hence this wrapper. EINVAL where the file system cannot. */
static inline int cplatform_rename_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
#ifdef SYS_renameat2
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, 1u /* RENAME_NOREPLACE */);
#else
    (void)olddirfd; (void)oldpath; (void)newdirfd; (void)newpath;
    errno = ENOSYS;
    return -1;
#endif
}
static inline uint64_t cplatform_resolve_beneath(void) { return RESOLVE_BENEATH; }
static inline uint64_t cplatform_resolve_no_symlinks(void) { return RESOLVE_NO_SYMLINKS; }

/* sync_file_range(2), declared by glibc only under _GNU_SOURCE. Starts writeback of a range without waiting for it
 * (SYNC_FILE_RANGE_WRITE = 2, <bits/fcntl-linux.h>). */
extern int sync_file_range(int fd, off_t offset, off_t nbytes, unsigned int flags);
static inline int cplatform_start_writeback(int fd, int64_t offset, int64_t length) {
    return sync_file_range(fd, (off_t)offset, (off_t)length, 2);
}

/* O_DIRECT: declared only under _GNU_SOURCE, and its value is per architecture (<asm/fcntl.h>, which cannot be
 * included next to glibc's <fcntl.h>). 0 where unknown: no direct I/O there. */
#if defined(O_DIRECT)
#define CPLATFORM_O_DIRECT_VALUE O_DIRECT
#elif defined(__x86_64__) || defined(__i386__) || defined(__riscv) || defined(__s390x__) || defined(__loongarch__)
#define CPLATFORM_O_DIRECT_VALUE 040000
#elif defined(__aarch64__) || defined(__arm__)
#define CPLATFORM_O_DIRECT_VALUE 0200000
#else
#define CPLATFORM_O_DIRECT_VALUE 0
#endif
static inline int cplatform_o_direct(void) { return CPLATFORM_O_DIRECT_VALUE; }
#endif

/* strerrorname_np (glibc 2.32), declared only under _GNU_SOURCE: "ENOSPC" for ENOSPC; NULL for an unknown number. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
extern const char *strerrorname_np(int errnum);
static inline const char *cplatform_errno_name(int number) { return strerrorname_np(number); }
#else
static inline const char *cplatform_errno_name(int number) { (void)number; return NULL; }
#endif

/* glibc's mmap threshold for malloc (M_MMAP_THRESHOLD, <malloc.h>, which Swift's Glibc module does not export). Set
 * once, it stops glibc from raising the threshold to the size of each large block freed, so multi-megabyte buffers stay
 * mmapped and go back to the system when freed instead of staying in the heap. Returns 1 on success. */
#if defined(__GLIBC__)
#include <malloc.h>
static inline int cplatform_malloc_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }
#else
static inline int cplatform_malloc_mmap_threshold(int bytes) { (void)bytes; return 0; }
#endif

/* Extended attributes of an open file (<sys/xattr.h>, which Swift's Glibc module does not export): the store records a
 * committed file's SHA-256 in one. Both return -1 with errno on failure (ENOTSUP where the file system has none). */
#include <sys/xattr.h>
static inline ssize_t cplatform_get_attribute(int fd, const char *name, void *value, size_t size) {
    return fgetxattr(fd, name, value, size);
}
static inline int cplatform_set_attribute(int fd, const char *name, const void *value, size_t size) {
    return fsetxattr(fd, name, value, size, 0);
}
#endif
