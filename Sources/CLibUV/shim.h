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

#endif
