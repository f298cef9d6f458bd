/*
 * fuzz_uidlist.c - the UID list readers (uidlist.h): postern-uidlist,
 * dovecot-uidlist and courierimapuiddb bytes, fed in the chunk sizes the
 * first input byte picks.  Oracles: every entry kept is whole and valid,
 * UIDs ascend and stay below uidnext, and our own format read back
 * gives the same list.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uidlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct uidlist *ul)
{
	for (size_t i = 0; i < ul->n; i++) {
		const char *name = ul->e[i].name;

		if (ul->e[i].uid == 0 || ul->e[i].uid >= ul->uidnext ||
		    (i > 0 && ul->e[i - 1].uid >= ul->e[i].uid) ||
		    name[0] == '\0' || name[0] == '.' || strchr(name, '/') ||
		    strchr(name, ':') || strchr(name, '\n'))
			__builtin_trap();
	}
}

static void
roundtrip(const struct uidlist *ul)
{
	struct uidlist again;
	size_t len;
	char *text = uidlist_format(ul, &len);

	uidlist_init(&again, UIDLIST_POSTERN);
	uidlist_feed(&again, text, len);
	if (uidlist_finish(&again) != 0 || again.n != ul->n ||
	    again.uidnext != ul->uidnext || again.bad_lines != 0)
		__builtin_trap();
	for (size_t i = 0; i < ul->n; i++)
		if (again.e[i].uid != ul->e[i].uid ||
		    again.e[i].wire != ul->e[i].wire ||
		    strcmp(again.e[i].name, ul->e[i].name) != 0)
			__builtin_trap();
	uidlist_free(&again);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uidlist ul;
	size_t step;

	if (size < 1)
		return 0;
	step = 1 + data[0] % 64;
	data++, size--;
	for (int fmt = UIDLIST_POSTERN; fmt <= UIDLIST_COURIER; fmt++) {
		uidlist_init(&ul, (enum uidlist_format)fmt);
		for (size_t i = 0; i < size; i += step)
			uidlist_feed(&ul, (const char *)data + i,
			    size - i < step ? size - i : step);
		if (uidlist_finish(&ul) == 0) {
			check(&ul);
			roundtrip(&ul);
		}
		uidlist_free(&ul);
	}
	return 0;
}
