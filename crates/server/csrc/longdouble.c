/* Long double arithmetic for INCRBYFLOAT / HINCRBYFLOAT.
 *
 * Redis computes these with C's `long double` (80-bit x87 on x86_64) and prints the result with
 * "%.17Lf" minus trailing zeros, so 0.1 + 0.1 prints "0.2". Rust has no long double type, so
 * this file does the parse-add-format step in C, where the type exists. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LONG_DOUBLE_CHARS (5 * 1024)

/* Parses like Redis's string2ld: no leading space, whole string consumed, no NaN, no
 * overflow/underflow to zero. Returns 1 on success. */
static int parse_ld(const char *s, size_t len, long double *out) {
    char buf[MAX_LONG_DOUBLE_CHARS + 1];
    char *end;
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (isspace((unsigned char)buf[0])) return 0;
    errno = 0;
    long double v = strtold(buf, &end);
    /* The whole string must be consumed: an embedded NUL ends strtold early ("1\0x"). */
    if (*end != '\0' || (size_t)(end - buf) != len || isnan(v)) return 0;
    if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) return 0;
    *out = v;
    return 1;
}

/* Formats like Redis's ld2string in "human" mode. Returns the length or -1. */
static int format_ld(long double v, char *out, size_t outlen) {
    if (isinf(v)) return snprintf(out, outlen, v > 0 ? "inf" : "-inf");
    int l = snprintf(out, outlen, "%.17Lf", v);
    if (l < 0 || (size_t)l + 1 > outlen) return -1;
    if (strchr(out, '.') != NULL) {
        char *p = out + l - 1;
        while (*p == '0') { p--; l--; }
        if (*p == '.') l--;
    }
    if (l == 2 && out[0] == '-' && out[1] == '0') { out[0] = '0'; l = 1; }
    out[l] = '\0';
    return l;
}

/* cur + incr. Returns the result length in `out`, or -1 if either is not a valid float,
 * or -2 if the result is NaN or infinite. */
int cnb_ld_add(const char *cur, size_t curlen, const char *incr, size_t incrlen,
               char *out, size_t outlen) {
    long double a, b;
    if (!parse_ld(cur, curlen, &a) || !parse_ld(incr, incrlen, &b)) return -1;
    long double r = a + b;
    if (isnan(r) || isinf(r)) return -2;
    return format_ld(r, out, outlen);
}

/* Validates a long double string (1 = valid). */
int cnb_ld_valid(const char *s, size_t len) {
    long double v;
    return parse_ld(s, len, &v);
}
