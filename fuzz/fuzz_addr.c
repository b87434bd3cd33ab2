/* fuzz_addr.c: address lists, dates and msg-ids on any input. Every span
 * returned lies inside the input; the iterator always advances (so it ends);
 * group starts and ends come only from ':' and ';'; mc_mime_phrase never
 * writes more than its input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mimecodec/mime.h"

#define FUZZ_ASSERT(c)           \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

static void inside(struct mc_span in, struct mc_span s)
{
	if (s.n)
		FUZZ_ASSERT(s.p >= in.p && s.p + s.n <= in.p + in.n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mc_span v = {(const char *)data, size}, id;
	struct mc_mime_addr a;
	size_t pos = 0, prev = 0, k = 0;
	char *tmp = malloc(size + 1);
	int64_t t;
	int z;

	while (mc_mime_addr_next(v, &pos, &a)) {
		FUZZ_ASSERT(pos > prev || (k == 0 && pos > 0));
		FUZZ_ASSERT(pos <= size);
		prev = pos;
		inside(v, a.name);
		inside(v, a.local);
		inside(v, a.domain);
		inside(v, a.addr);
		if (a.flags & MC_ADDR_GROUP_START)
			FUZZ_ASSERT(memchr(data, ':', size) != NULL);
		if (a.flags & MC_ADDR_GROUP_END)
			FUZZ_ASSERT(memchr(data, ';', size) != NULL);
		FUZZ_ASSERT(mc_mime_phrase(a.name, tmp) <= a.name.n);
		FUZZ_ASSERT(mc_mime_phrase(a.addr, tmp) <= a.addr.n);
		FUZZ_ASSERT(++k <= size);
	}
	if (mc_mime_msgid(v, &id) == MC_OK)
		inside(v, id);
	if (mc_mime_date(v, &t, &z) == MC_OK)
		FUZZ_ASSERT(z >= -24 * 60 && z <= 24 * 60);
	FUZZ_ASSERT(mc_mime_phrase(v, tmp) <= size);
	free(tmp);
	return 0;
}
