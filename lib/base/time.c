/* time.c: the clock, which $DESK_NOW overrides for every tool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int
digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 1;
}

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
desk_time_parse(const char *s, int64_t *t)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int Y, M, D, h, m, sec, oh = 0, om = 0, sign = 0;
	const char *p;

	if (!s || !*s)
		return 0;
	/* Unix seconds, optionally with a fraction (dropped). */
	p = s + (*s == '-');
	size_t nd = strspn(p, "0123456789");
	if (nd > 0 && (p[nd] == '\0' || (p[nd] == '.' && p[nd + 1] &&
	    strspn(p + nd + 1, "0123456789") == strlen(p + nd + 1)))) {
		if (nd > 15)
			return 0;
		int64_t v = 0;
		for (size_t i = 0; i < nd; i++)
			v = v * 10 + (p[i] - '0');
		*t = *s == '-' ? -v : v;
		return 1;
	}
	if (strlen(s) < 20)
		return 0;
	if (!digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) ||
	    s[7] != '-' || !digits(s + 8, 2, &D) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &m) ||
	    s[16] != ':' || !digits(s + 17, 2, &sec))
		return 0;
	if (M < 1 || M > 12 || D < 1 ||
	    D > mdays[M - 1] + (M == 2 && leap(Y)) || h > 23 || m > 59 || sec > 60)
		return 0;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return 0;
		p += 6;
	} else
		return 0;
	if (*p)
		return 0;
	if (sec == 60)
		sec = 59;    /* a leap second is the last second of its minute */
	*t = days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 +
	    m * 60 + sec - sign * (oh * 3600 + om * 60);
	return 1;
}

/* The date of a day count since 1970-01-01 (Howard Hinnant). */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

char *
desk_time_fmt(int64_t t, char *out)
{
	/* Not gmtime_r or strftime: glibc reads /etc/localtime for either. */
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int64_t secs = t - days * 86400, y;
	unsigned m, d;
	char buf[96];

	civil_from_days(days, &y, &m, &d);
	snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y,
	    m, d, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
	memcpy(out, buf, 31);
	out[31] = '\0';
	return out;
}

/*
 * A record gets its stamps from one clock reading, and a batch's records
 * mostly share the second: the last one formatted is kept (per thread, so
 * that threads need no lock) instead of printed again.
 */
static _Thread_local int64_t jtime_t;
static _Thread_local char jtime_s[32];

const char *
desk_time_text(int64_t t)
{
	if (!jtime_s[0] || jtime_t != t) {
		desk_time_fmt(t, jtime_s);
		jtime_t = t;
	}
	return jtime_s;
}

jv
desk_jtime(int64_t t)
{
	return jv_string(desk_time_text(t));
}

int64_t
desk_now(void)
{
	const struct desk_env *e = desk_env();

	return e->now_fixed ? e->now : (int64_t)time(NULL);
}

double
desk_mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}
