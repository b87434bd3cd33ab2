/* mimecodec/maildir.h: crash-safe delivery into a Maildir
 * (https://cr.yp.to/proto/maildir.html, and Dovecot's/Courier's ",S=size").
 *
 * A message is written under a unique name in tmp/, fsync'ed, then moved
 * into new/ (link + unlink, so an existing name is never overwritten; rename
 * where the file system has no hard links), and new/ is fsync'ed: once
 * mc_maildir_commit returns MC_OK the message survives a crash or power
 * loss. Names are "<sec>.M<usec>P<pid>Q<seq>.<host>" in tmp/ and the same
 * with ",S=<size>" in new/; '/' and ':' in the host name become "\057" and
 * "\072", other unsafe bytes '_'.
 *
 * A struct mc_maildir is caller-owned and single-threaded; different handles
 * (even on the same directory, in one or several processes) never pick the
 * same name. */
#ifndef MIMECODEC_MAILDIR_H
#define MIMECODEC_MAILDIR_H

#include <stddef.h>
#include <stdint.h>
#include "export.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MC_MAILDIR_NAME_MAX 256        /* a file name, NUL included */
#define MC_MAILDIR_WBUF     262144     /* bytes gathered before a write(2) */
#define MC_MAILDIR_KICK     (8u << 20) /* bytes between writeback starts (maildir.c) */

/* Treat the fields as private. */
struct mc_maildir {
	int dirfd, tmpfd, newfd; /* the Maildir and its tmp/, new/ (O_DIRECTORY); -1 closed */
	unsigned seq;            /* deliveries begun by this handle */
	char host[64];           /* sanitised host name */
	/* the delivery in progress */
	int fd; /* -1 when none */
	uint64_t size;
	uint64_t written, kicked; /* bytes written to fd; bytes whose writeback was started */
	size_t blen;
	char name[MC_MAILDIR_NAME_MAX]; /* in tmp/ */
	unsigned char *buf;             /* MC_MAILDIR_WBUF bytes */
	char err[256];
};

/* Opens (creating with mode 0700 when missing: the directory and its
 * parents, tmp/, new/, cur/) the Maildir at path. Returns MC_OK, MC_EIO
 * (why in mc_maildir_errmsg), MC_ENOMEM or MC_EINVAL. */
MC_API MC_MUST_CHECK mc_status mc_maildir_open(struct mc_maildir *md, const char *path);

/* Starts a delivery: creates tmp/<unique name> (O_EXCL). One at a time per
 * handle. Returns MC_OK, MC_EIO or MC_EINVAL (one already begun). */
MC_API MC_MUST_CHECK mc_status mc_maildir_begin(struct mc_maildir *md);

/* Appends p[0..n) to the delivery. Returns MC_OK, MC_EIO or MC_EINVAL. */
MC_API MC_MUST_CHECK mc_status mc_maildir_write(struct mc_maildir *md, const void *p, size_t n);

/* A sink of the POP3 client's shape: ctx is a struct mc_maildir. */
MC_API mc_status mc_maildir_sink(void *ctx, const void *p, size_t n);

/* Makes the delivery durable in tmp/: flush, fsync, close. Returns MC_OK or
 * MC_EIO. Then mc_maildir_commit (or mc_maildir_abort). */
MC_API MC_MUST_CHECK mc_status mc_maildir_sync(struct mc_maildir *md);

/* Syncs when not done yet, moves the file into new/ with ",S=<size>" and
 * fsyncs new/. name (optional, cap bytes) receives the name in new/.
 * Returns MC_OK or MC_EIO (the file is then still in tmp/, or removed). */
MC_API MC_MUST_CHECK mc_status mc_maildir_commit(struct mc_maildir *md, char *name, size_t cap);

/* The name the delivery has in tmp/ ("" when none). */
MC_API const char *mc_maildir_tmpname(const struct mc_maildir *md);

/* Moves tmp/<tmpname> (a delivery a crash left behind after its sync) into
 * new/ like commit. name as in commit. Returns MC_OK, MC_EIO, or MC_ECLOSED
 * when tmp/<tmpname> does not exist (moved already, or never synced). */
MC_API MC_MUST_CHECK mc_status mc_maildir_recover(struct mc_maildir *md, const char *tmpname,
                                                  char *name, size_t cap);

/* Abandons the delivery: closes and removes the tmp/ file. */
MC_API void mc_maildir_abort(struct mc_maildir *md);

/* Aborts any delivery and closes the handle. Safe on a closed handle. */
MC_API void mc_maildir_close(struct mc_maildir *md);

/* The last error's description ("" when none). */
MC_API const char *mc_maildir_errmsg(const struct mc_maildir *md);

/* File descriptor of the Maildir directory itself (for state files kept in
 * it), or -1. */
MC_API int mc_maildir_dirfd(const struct mc_maildir *md);

#ifdef __cplusplus
}
#endif
#endif
