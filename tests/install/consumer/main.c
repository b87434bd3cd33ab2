/* A tiny consumer of the installed library: public headers only. */
#include <stdio.h>
#include <string.h>
#include <mimecodec/base64.h>
#include <mimecodec/isa.h>

int main(void)
{
	char enc[16];
	unsigned char dec[16];
	size_t n = mc_b64_encode("foobar", 6, enc, 0, 0), w;

	if (n != 8 || memcmp(enc, "Zm9vYmFy", 8) != 0)
		return 1;
	if (mc_b64_decode(enc, n, dec, &w, MC_B64_STRICT, 0, NULL) != MC_OK || w != 6 ||
	    memcmp(dec, "foobar", 6) != 0)
		return 1;
	printf("consumer ok (%s)\n", mc_isa_name(mc_isa_active()));
	return 0;
}
