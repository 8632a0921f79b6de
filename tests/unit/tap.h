/* tap.h: the few TAP helpers the unit tests need. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_fail;

#define ok(cond, ...) do { \
	tap_n++; \
	if (cond) printf("ok %d - ", tap_n); \
	else { printf("not ok %d - ", tap_n); tap_fail++; } \
	printf(__VA_ARGS__); printf("\n"); \
} while (0)

#define is_str(got, want, ...) do { \
	const char *g_ = (got), *w_ = (want); \
	ok(g_ && w_ && !strcmp(g_, w_), __VA_ARGS__); \
	if (!(g_ && w_ && !strcmp(g_, w_))) \
		printf("#   got:  %s\n#   want: %s\n", g_ ? g_ : "(null)", w_); \
} while (0)

static int
done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_fail != 0;
}

/* done_testing, after removing the scratch directory dir (1 if that fails). */
static inline int
done_testing_in(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return done_testing();
}
