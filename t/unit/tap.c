/* tap.c - see tap.h.  The plan is printed at the end (done_testing). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "tap.h"

static int tests, failed;

static void
vreport(int cond, const char *fmt, va_list ap)
{
	tests++;
	if (!cond)
		failed++;
	printf("%sok %d - ", cond ? "" : "not ", tests);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
}

void
tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(cond, fmt, ap);
	va_end(ap);
}

void
tap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void
tap_is_int(long long got, long long want, const char *name)
{
	tap_ok(got == want, "%s", name);
	if (got != want)
		tap_diag("got %lld, want %lld", got, want);
}

void
tap_is_str(const char *got, const char *want, const char *name)
{
	int same = got && want ? strcmp(got, want) == 0 : got == want;

	tap_ok(same, "%s", name);
	if (!same)
		tap_diag("got \"%s\", want \"%s\"", got ? got : "(null)",
		    want ? want : "(null)");
}

void
tap_is_mem(const void *got, size_t gotlen, const void *want, size_t wantlen,
    const char *name)
{
	int same = gotlen == wantlen && memcmp(got, want, gotlen) == 0;

	tap_ok(same, "%s", name);
	if (!same)
		tap_diag("got %zu bytes \"%.*s\", want %zu bytes \"%.*s\"",
		    gotlen, (int)gotlen, (const char *)got, wantlen,
		    (int)wantlen, (const char *)want);
}

int
tap_done(void)
{
	printf("1..%d\n", tests);
	return failed ? 1 : 0;
}
