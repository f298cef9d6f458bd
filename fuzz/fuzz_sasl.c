/* fuzz_sasl.c - base64 decoding and SASL PLAIN parsing (login process). */
#include <stdint.h>
#include <string.h>
#include "sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char out[2048];
	char enc[4 * (sizeof(out) + 2) / 3 + 1];
	struct sasl_creds c;
	size_t n;

	if (base64_decode((const char *)data, size, out, sizeof(out), &n) == 0) {
		base64_encode(out, n, enc);
		/* decoding is strict, so encoding gives the input back */
		if (strlen(enc) != size || memcmp(enc, data, size) != 0)
			__builtin_trap();
	}
	if (sasl_plain_parse(data, size, &c) == 0)
		sasl_creds_wipe(&c);
	return 0;
}
