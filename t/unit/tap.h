/* tap.h - minimal TAP producer for the C unit tests (prove reads it). */
#ifndef POSTERN_TAP_H
#define POSTERN_TAP_H

#include <stddef.h>

void tap_ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tap_is_int(long long got, long long want, const char *name);
void tap_is_str(const char *got, const char *want, const char *name);
void tap_is_mem(const void *got, size_t gotlen, const void *want, size_t wantlen,
    const char *name);
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the plan ("1..N") and returns the exit status: 0 if all passed. */
int tap_done(void);

#endif
