/*
 * env.c: the DESK_* environment, read and checked once when a tool starts
 * (desk_setprog), so a bad value is reported at once, 78 naming the
 * variable, and not the first time the one code path that needs it runs
 * (a lock timeout only under contention). The hot path reads the parsed
 * values.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

static struct desk_env env = {
	.lock_timeout = 10,
	.segment_size = 64 << 20,
	.max_record = DESK_MAX_INPUT,
};

/* Empty is refused only where it would be used: -s DIR may stand in for it. */
static int
set_store(const char *s, struct desk_env *e)
{
	e->store = s;
	return 1;
}

static int
set_now(const char *s, struct desk_env *e)
{
	return e->now_fixed = desk_time_parse(s, &e->now);
}

static int
set_sync(const char *s, struct desk_env *e)
{
	e->sync_each = !strcmp(s, "event");
	return e->sync_each || !strcmp(s, "batch");
}

/* Decimal seconds, a fraction allowed; not strtod, which takes nan, inf and hex. */
static int
set_lock_timeout(const char *s, struct desk_env *e)
{
	double v = 0, scale = 1;
	int digits = 0;

	for (; *s >= '0' && *s <= '9' && v <= 86400; s++, digits++)
		v = v * 10 + (*s - '0');
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, digits++)
			v += (*s - '0') * (scale /= 10);
	if (*s || !digits || v > 86400)
		return 0;
	e->lock_timeout = v;
	return 1;
}

static int
set_segment_size(const char *s, struct desk_env *e)
{
	/* Positions keep 40 bits of offset. */
	return desk_parse_u64(s, 4096, (uint64_t)1 << 39, &e->segment_size);
}

static int
set_max_record(const char *s, struct desk_env *e)
{
	uint64_t v;

	/* Bigger would let a message outgrow what a slot can point at. */
	if (!desk_parse_u64(s, 64, DESK_MAX_INPUT, &v))
		return 0;
	e->max_record = (size_t)v;
	return 1;
}

int
desk_limits_parse(const char *s, struct desk_limit *l, int max)
{
	int n = 0;

	while (*s && n < max) {
		char *end;
		long c = strtol(s, &end, 10);
		if (end == s || *s < '0' || *s > '9' || *end != '/' ||
		    c < 1 || c > 1000000)
			return -1;
		s = end + 1;
		long t = strtol(s, &end, 10);
		if (end == s || *s < '0' || *s > '9' || t < 1 || t > 86400 ||
		    (*end && *end != ','))
			return -1;
		l[n].count = (int)c;
		l[n++].seconds = (int)t;
		s = *end ? end + 1 : end;
	}
	return *s || n == 0 ? -1 : n;
}

static int
set_reply_limits(const char *s, struct desk_env *e)
{
	int n = desk_limits_parse(s, e->limits, DESK_MAX_LIMITS);

	if (n < 0)
		return 0;
	e->nlimits = n;
	return 1;
}

static int
set_ident_limits(const char *s, struct desk_env *e)
{
	return desk_limits_parse(s, e->ident_limits, 2) == 2;
}

/*
 * Every DESK_* variable a tool reads: name, parser, what a good value is,
 * what it does (for --help and desk(7)).
 */
static const struct var {
	const char *name;
	int (*set)(const char *, struct desk_env *);
	const char *want;
	int empty_is_default;
	const char *help;
} vars[] = {
	{ "DESK_STORE", set_store, "empty (name a directory, or unset it "
	    "for the default store)", 0, "the store when -s is not given" },
	{ "DESK_NOW", set_now, "not an RFC 3339 time or Unix seconds", 1,
	    "the clock, pinned (RFC 3339 or Unix seconds)" },
	{ "DESK_SYNC", set_sync, "must be batch or event", 1,
	    "batch (sync once a batch) or event (once an event)" },
	{ "DESK_LOCK_TIMEOUT", set_lock_timeout, "not a number of seconds "
	    "from 0 to 86400", 1, "seconds to wait for the store's lock (10), "
	    "then exit 75" },
	{ "DESK_SEGMENT_SIZE", set_segment_size, "not a size in bytes "
	    "(4096 or more)", 1, "bytes of a log segment before the next (64 MiB)" },
	{ "DESK_MAX_RECORD", set_max_record, "not a size in bytes "
	    "(64 to 15728640)", 1, "the longest input record in bytes (15 MiB)" },
	{ "DESK_IDENT_LIMITS", set_ident_limits, "want COUNT/SECONDS,COUNT/SECONDS "
	    "(per channel, per store), such as " DESK_IDENT_LIMITS_DEFAULT, 1,
	    "invalid codes a channel, and the store, may take (" 
	    DESK_IDENT_LIMITS_DEFAULT ")" },
	{ "DESK_REPLY_LIMITS", set_reply_limits, "want COUNT/SECONDS,... "
	    "such as 10/10,25/60", 1, "rule replies a case may get "
	    "(10/10,25/60,100/600)" },
};

const char *
desk_env_help(const char *name)
{
	for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
		if (!strcmp(vars[i].name, name))
			return vars[i].help;
	return NULL;
}

const char *
desk_env_name(size_t n)
{
	return n < sizeof vars / sizeof *vars ? vars[n].name : NULL;
}

const struct desk_env *
desk_env(void)
{
	static int loaded;

	if (loaded)
		return &env;
	loaded = 1;
	/* Zammad's defaults for rule replies. */
	set_reply_limits("10/10,25/60,100/600", &env);
	set_ident_limits(DESK_IDENT_LIMITS_DEFAULT, &env);
	for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
		const char *s = getenv(vars[i].name);
		if (!s || (!*s && vars[i].empty_is_default))
			continue;
		if (!vars[i].set(s, &env))
			desk_die(DESK_EX_CONFIG, "%s: %s%s%s", vars[i].name,
			    vars[i].want, *s ? ": " : "", s);
	}
	return &env;
}
