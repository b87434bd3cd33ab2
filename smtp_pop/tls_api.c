/* tls_api.c: loads OpenSSL (libssl.so.3, which brings libcrypto.so.3) on
 * first use and fills the pointers of tls_api.h. See tls_api.h for why. */
#define _GNU_SOURCE /* secure_getenv */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_api.h"

/* The SONAME the headers we build against belong to: OpenSSL 3 keeps its
 * ABI within the major version. */
#define MC_LIBSSL "libssl.so.3"

struct mc__tls_api mc__tls;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_int loaded; /* read by mc__tls_loaded without the once */
static char error[256];

/* MIMECODEC_LIBSSL names another libssl (a path, or a name the dynamic
 * loader looks up) to load instead; ignored in set-user-ID programs. */
static void load(void)
{
	const char *name = secure_getenv("MIMECODEC_LIBSSL");
	void *h;
	const char *missing = NULL;

	if (!name || !*name)
		name = MC_LIBSSL;
	if (!(h = dlopen(name, RTLD_NOW | RTLD_LOCAL))) {
		const char *e = dlerror();

		snprintf(error, sizeof error, "OpenSSL not available: %s", e ? e : name);
		return;
	}
	/* dlsym gives a void *; POSIX makes it convertible to the function
	 * pointer, which memcpy does without a cast ISO C leaves undefined.
	 * The handle stays open for the life of the process. */
#define MC_TLS_SYM(f)                                                                      \
	if (!missing) {                                                                    \
		void *s = dlsym(h, #f);                                                    \
                                                                                           \
		_Static_assert(sizeof s == sizeof mc__tls.p_##f, "function pointer size"); \
		if (s)                                                                     \
			memcpy(&mc__tls.p_##f, &s, sizeof s);                              \
		else                                                                       \
			missing = #f;                                                      \
	}
	MC_TLS_FUNCS(MC_TLS_SYM)
#undef MC_TLS_SYM
	if (missing) {
		snprintf(error, sizeof error, "OpenSSL not usable: %s has no %s", name, missing);
		return;
	}
	atomic_store(&loaded, 1);
}

mc_status mc__tls_load(void)
{
	pthread_once(&once, load);
	return atomic_load(&loaded) ? MC_OK : MC_ENOTLS;
}

const char *mc__tls_error(void)
{
	pthread_once(&once, load);
	return atomic_load(&loaded) ? "" : error;
}

int mc__tls_loaded(void)
{
	return atomic_load(&loaded);
}
