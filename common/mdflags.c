/*
 * mdflags.c - flags in a Maildir file name (see mdflags.h).
 *
 * Names come from directory entries, which the mail user controls:
 * nothing past NAME_MAX bytes is looked at and every byte after ":2,"
 * is accepted, either as a flag we know or as an "other" character to
 * keep.  Output never passes outmax or NAME_MAX.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "mdflags.h"
#include "util.h"

/* The letters we own, each with its bit; ASCII order. */
static const struct {
	char c;
	unsigned flag;
} letters[] = {
	{ 'D', MF_DRAFT }, { 'F', MF_FLAGGED }, { 'R', MF_ANSWERED },
	{ 'S', MF_SEEN }, { 'T', MF_DELETED },
};

static unsigned
letter_flag(unsigned char c)
{
	for (size_t i = 0; i < ARRAY_LEN(letters); i++)
		if ((unsigned char)letters[i].c == c)
			return letters[i].flag;
	return 0;
}

const char *
md_unique_end(const char *filename)
{
	return filename + strcspn(filename, ":");
}

int
md_info_parse(const char *filename, unsigned *flags, kwset_t *kw,
    char other[MD_OTHER_MAX])
{
	unsigned char seen[256] = { 0 };
	size_t len = strnlen(filename, NAME_MAX + 1), i, o = 0;
	const char *colon;
	int rc = 0;

	*flags = 0;
	*kw = 0;
	other[0] = '\0';
	if (len > NAME_MAX)
		return -1;
	if ((colon = memchr(filename, ':', len)) == NULL)
		return 0;
	i = (size_t)(colon - filename);
	if (len - i < 3 || colon[1] != '2' || colon[2] != ',')
		return 1;
	for (i += 3; i < len; i++) {
		unsigned char c = (unsigned char)filename[i];

		if (letter_flag(c) != 0)
			*flags |= letter_flag(c);
		else if (c >= 'a' && c <= 'z')
			*kw |= (kwset_t)1 << (c - 'a');
		else
			seen[c] = 1;
	}
	for (i = 1; i < 256; i++) {
		if (!seen[i])
			continue;
		if (o == MD_OTHER_MAX - 1) {
			rc = -1;	/* cannot keep them all */
			break;
		}
		other[o++] = (char)i;
	}
	other[o] = '\0';
	return rc;
}

static int
fail(char *out, size_t outmax, int err)
{
	if (outmax > 0)
		out[0] = '\0';
	errno = err;
	return -1;
}

int
md_info_format(const char *unique, unsigned flags, kwset_t kw,
    const char *other, char *out, size_t outmax)
{
	unsigned char set[256] = { 0 };
	size_t ulen = strnlen(unique, NAME_MAX + 1), n;

	if ((flags & ~(unsigned)MF_ALL) != 0 || (kw >> KW_MAX) != 0 ||
	    ulen == 0 || ulen > NAME_MAX || memchr(unique, ':', ulen) ||
	    memchr(unique, '/', ulen))
		return fail(out, outmax, EINVAL);
	for (const char *p = other; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '/' || letter_flag(c) != 0 || (c >= 'a' && c <= 'z'))
			return fail(out, outmax, EINVAL);
		set[c] = 1;
	}
	for (size_t i = 0; i < ARRAY_LEN(letters); i++)
		if (flags & letters[i].flag)
			set[(unsigned char)letters[i].c] = 1;
	for (unsigned i = 0; i < KW_MAX; i++)
		if (kw & ((kwset_t)1 << i))
			set['a' + i] = 1;

	n = ulen + 3;
	for (unsigned i = 1; i < 256; i++)
		n += set[i];
	if (n > NAME_MAX || n >= outmax)
		return fail(out, outmax, ERANGE);
	memcpy(out, unique, ulen);
	memcpy(out + ulen, ":2,", 3);
	n = ulen + 3;
	for (unsigned i = 1; i < 256; i++)	/* ASCII order */
		if (set[i])
			out[n++] = (char)i;
	out[n] = '\0';
	return 0;
}
