/*
 * fuzz_uidlist.c - the UID list readers (uidlist.h): postern-uidlist,
 * dovecot-uidlist and courierimapuiddb bytes, fed in the chunk sizes the
 * first input byte picks.  Oracles: every entry kept is whole and valid,
 * UIDs ascend and stay below uidnext, and our own format read back
 * gives the same list.  Then the same bytes as a postern-uidlist on disk
 * get one entry appended (uidlist_append_open/_append, which cut a torn
 * last line first): the file must still read, with the new entry under
 * the UID the append gave it, and that UID above the last one listed
 * before.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static int dirfd = -1;

/* uidnext: what a full read of the same bytes gives (0: unusable). */
static void
append_one(const uint8_t *data, size_t size, uint32_t uidnext)
{
	struct uidlist_entry e = { 0, 7, (char *)"fuzz.appended" };
	struct uidlist_tail t;
	struct uidlist ul;
	int fd, wfd;

	if (dirfd < 0) {
		char tmpl[] = "/tmp/fuzz_uidlist.XXXXXX";

		if (mkdtemp(tmpl) == NULL)
			abort();
		dirfd = open(tmpl, O_RDONLY | O_DIRECTORY);
	}
	wfd = openat(dirfd, UIDLIST_NAME, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (wfd < 0 || write(wfd, data, size) != (ssize_t)size)
		abort();
	close(wfd);
	if ((fd = uidlist_append_open(dirfd, UIDLIST_NAME, &t)) < 0)
		return;		/* the caller reads it whole and rewrites */
	e.uid = t.uidnext;
	if (t.uidnext == 0 || t.uidnext >= UINT32_MAX - 1 ||
	    uidlist_append(fd, &t, &e, 1) < 0) {
		close(fd);
		return;
	}
	close(fd);
	if (uidlist_read(&ul, dirfd, UIDLIST_NAME, UIDLIST_POSTERN) != 1)
		__builtin_trap();
	uidlist_sort_names(&ul);
	{
		struct uidlist_entry *got = uidlist_find_name(&ul,
		    "fuzz.appended");

		/* When the tail told the truth (lines in UID order, as we
		 * write them), the new UID is above every listed one and
		 * the entry reads back; a list edited out of order may
		 * make it collide (one UID changes later; no mail lost). */
		if (uidnext != 0 && e.uid >= uidnext &&
		    (got == NULL || got->uid < e.uid || ul.uidnext <= e.uid))
			__builtin_trap();
	}
	uidlist_free(&ul);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uidlist ul;
	uint32_t uidnext = 0;
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
			if (fmt == UIDLIST_POSTERN)
				uidnext = ul.uidnext;
		}
		uidlist_free(&ul);
	}
	append_one(data, size, uidnext);
	return 0;
}
