/* Unit tests for lib/time.c. */
#include "desk.h"
#include "tap.h"

static void
parses(const char *s, int64_t want)
{
	int64_t t = -1;
	int r = desk_time_parse(s, &t);

	ok(r && t == want, "%s -> %lld (got %lld)", s, (long long)want, (long long)t);
}

static void
refuses(const char *s)
{
	int64_t t;

	ok(!desk_time_parse(s, &t), "refuses \"%s\"", s);
}

int
main(void)
{
	char buf[32];

	parses("1700000000", 1700000000);
	parses("1700000000.75", 1700000000);
	parses("0", 0);
	parses("1970-01-01T00:00:00Z", 0);
	parses("2026-11-21T09:30:00Z", 1795253400);
	parses("2026-11-21t09:30:00z", 1795253400);
	parses("2026-11-21 09:30:00Z", 1795253400);
	parses("2026-11-21T12:30:00+03:00", 1795253400);
	parses("2026-11-21T09:30:00.123456Z", 1795253400);
	parses("2024-02-29T00:00:00Z", 1709164800);
	parses("2016-12-31T23:59:60Z", 1483228799);
	refuses("");
	refuses("yesterday");
	refuses("2023-02-29T00:00:00Z");
	refuses("2026-13-01T00:00:00Z");
	refuses("2026-11-21T09:30:00");
	refuses("2026-11-21");
	refuses("2026-11-21T25:00:00Z");
	refuses("12abc");
	is_str(desk_time_fmt(1795253400, buf), "2026-11-21T09:30:00Z", "formats RFC 3339 UTC");
	is_str(desk_time_fmt(0, buf), "1970-01-01T00:00:00Z", "the epoch");
	is_str(desk_time_fmt(951782400, buf), "2000-02-29T00:00:00Z", "a leap day");
	is_str(desk_time_fmt(-1, buf), "1969-12-31T23:59:59Z", "before the epoch");
	is_str(desk_time_fmt(253402300799, buf), "9999-12-31T23:59:59Z", "the last second of 9999");
	/* Formatting and parsing agree, every 7919 s for 70 years. */
	int bad = 0;
	for (int64_t t = 0; t < 2208988800; t += 7919) {
		int64_t back;
		if (!desk_time_parse(desk_time_fmt(t, buf), &back) || back != t)
			bad++;
	}
	ok(bad == 0, "fmt and parse round-trip (%d bad)", bad);
	return done_testing();
}
