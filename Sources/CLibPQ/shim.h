/* The one C face of libpq (PostgreSQL's client library) for Swift: the metadata index's PostgreSQL back end
 * (Sources/Index/Postgres*.swift) is its only user. */
#ifndef FERRY_CLIBPQ_SHIM_H
#define FERRY_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
