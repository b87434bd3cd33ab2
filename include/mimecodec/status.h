/* mimecodec/status.h: the one status type of every mimecodec module.
 * MC_OK is zero, every error is negative; mc_strerror names each one. */
#ifndef MIMECODEC_STATUS_H
#define MIMECODEC_STATUS_H

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, description). Values are stable ABI: append, never renumber. */
#define MC_STATUS_LIST(X)                                              \
	X(MC_OK, 0, "success")                                         \
	X(MC_EINVAL, -1, "invalid argument")                           \
	X(MC_ENOMEM, -2, "out of memory")                              \
	X(MC_ENOSPC, -3, "output buffer too small")                    \
	X(MC_EBADCHAR, -4, "invalid character in encoded input")       \
	X(MC_EBADPAD, -5, "misplaced or missing padding")              \
	X(MC_ETRAILBITS, -6, "non-zero trailing bits in last quantum") \
	X(MC_ETRUNC, -7, "truncated input")                            \
	X(MC_EBADESC, -8, "invalid escape sequence")                   \
	X(MC_ELIMIT, -9, "a configured limit was exceeded")            \
	X(MC_EIO, -10, "input/output error")                           \
	X(MC_EUNSUPPORTED, -11, "not supported on this CPU or build")  \
	X(MC_ETIMEDOUT, -12, "network operation timed out")            \
	X(MC_ECONNECT, -13, "could not connect")                       \
	X(MC_ECLOSED, -14, "connection closed by the peer")            \
	X(MC_ETLS, -15, "TLS or certificate verification failed")      \
	X(MC_EPROTO, -16, "malformed or unexpected server reply")      \
	X(MC_ENOTLS, -17, "TLS required but not available")            \
	X(MC_EAUTH, -18, "authentication failed")                      \
	X(MC_ETEMPFAIL, -19, "temporary failure (4xx)")                \
	X(MC_EREJECTED, -20, "rejected by the server (5xx)")           \
	X(MC_EPARTIAL, -21, "some recipients were refused")            \
	X(MC_ERESOLVE, -22, "host name not resolved")                  \
	X(MC_EHEADER, -23, "CR, LF or NUL in a header value or address")

enum mc_status {
#define MC_STATUS_ENUM_(name, value, text) name = value,
	MC_STATUS_LIST(MC_STATUS_ENUM_)
#undef MC_STATUS_ENUM_
};
typedef enum mc_status mc_status;

/* Returns a static, human-readable description of a status; never NULL
 * (unknown values give "unknown status"). */
MC_API const char *mc_strerror(int status);

/* Returns the enumerator's name ("MC_EBADCHAR"), or "MC_UNKNOWN". */
MC_API const char *mc_status_name(int status);

#ifdef __cplusplus
}
#endif
#endif
