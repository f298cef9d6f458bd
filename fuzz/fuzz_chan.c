/* fuzz_chan.c - the monitor's decoder of messages from its children. */
#include <stdint.h>
#include "chan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chan_msg m;

	(void)chan_decode(data, size, &m);
	return 0;
}
