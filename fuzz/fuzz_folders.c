/*
 * fuzz_folders.c - the folder layer's parsers on arbitrary bytes
 * (folders_int.h): the first byte picks the target and options.
 *   0: the name check (folders_norm) for Maildir '/' and '.', and mbox.
 *      Oracles: an accepted name is valid modified UTF-7, its canonical
 *      form is accepted again unchanged, and its path stays under ROOT.
 *   1: the LIST matcher (folder_match), pattern and name split at the
 *      first NUL.  Oracle: a naive backtracking matcher on short inputs.
 *   2: the subscription-file reader, every kind, in chunks the input
 *      chooses.  Oracle: every name it hands out passes folders_norm.
 * Nothing touches the file system.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "folders_int.h"
#include "mutf7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct folders *
tree(int mbox, char sep)
{
	static struct folders f;

	memset(&f, 0, sizeof(f));
	f.mbox = mbox;
	f.sep = sep;
	strcpy(f.root, "/home/u/Maildir");
	strcpy(f.inbox, "/home/u/Maildir");
	strcpy(f.home, "/home/u");
	if (mbox) {
		strcpy(f.root, "/home/u/mail");
		strcpy(f.inbox, "/var/mail/u");
	}
	return &f;
}

static void
check_name(const struct folders *f, const char *name)
{
	char canon[PATH_MAX], again[PATH_MAX], path[PATH_MAX];

	if (folders_norm(f, name, 0, canon, NULL, 0) != STORE_OK)
		return;
	if (!mutf7_valid(canon, strlen(canon)) ||
	    folders_norm(f, canon, 0, again, NULL, 0) != STORE_OK ||
	    strcmp(canon, again) != 0 || strcasecmp(canon, name) != 0)
		__builtin_trap();
	if (folders_disk(f, canon, path, NULL, 0) != STORE_OK)
		__builtin_trap();
	if (!folders_is_inbox(canon) && (strncmp(path, f->root,
	    strlen(f->root)) != 0 || path[strlen(f->root)] != '/' ||
	    strstr(path, "/../") != NULL || strstr(path, "//") != NULL))
		__builtin_trap();
}

/* Exponential reference matcher; only run on short inputs. */
static int
naive(const char *p, const char *n, char sep)
{
	if (*p == '\0')
		return *n == '\0';
	if (*p == '*' || *p == '%') {
		for (size_t k = 0;; k++) {
			if (naive(p + 1, n + k, sep))
				return 1;
			if (n[k] == '\0' || (*p == '%' && n[k] == sep))
				return 0;
		}
	}
	return *n == *p && naive(p + 1, n + 1, sep);
}

static void
check_match(const char *pat, const char *name, char sep)
{
	int m = folder_match(pat, name, sep);

	if (strlen(pat) > 12 || strlen(name) > 12)
		return;
	/* the INBOX rule only ever adds matches */
	if (naive(pat, name, sep) && !m)
		__builtin_trap();
	if (m && !naive(pat, name, sep) && strncasecmp(name, "INBOX", 5) != 0)
		__builtin_trap();
}

static void
got(void *arg, const char *canon)
{
	char again[PATH_MAX];

	if (folders_norm(arg, canon, 0, again, NULL, 0) != STORE_OK ||
	    strcmp(again, canon) != 0)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct subs_reader r;
	struct folders *f;
	char *s;
	size_t i, step;

	if (size < 1)
		return 0;
	f = tree(data[0] & 0x10 ? 1 : 0, data[0] & 0x20 ? '.' : '/');
	if (f->mbox)
		f->sep = '/';
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		check_name(f, s);
		break;
	case 1:
		i = strlen(s);
		check_match(s, i + 1 < size - 1 ? s + i + 1 : "", f->sep);
		break;
	case 2:
		subs_reader_init(&r, f, (enum subs_kind)((data[0] >> 6) & 3),
		    got, f);
		step = 1 + (data[0] & 0x0c);
		for (i = 0; i < size - 1; i += step)
			subs_reader_feed(&r, (char *)data + 1 + i,
			    size - 1 - i < step ? size - 1 - i : step);
		subs_reader_end(&r);
		break;
	}
	free(s);
	return 0;
}
