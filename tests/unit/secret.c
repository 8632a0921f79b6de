/*
 * The code secret is the store's own, not the process's: with two stores
 * open in one process (a server's), a code is hashed with the secret of
 * the store it is bound in, and closing one store wipes only its secret.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "desk.h"
#include "tap.h"

static struct desk_store *
store_with_channel(const char *dir)
{
	struct desk_store *st = desk_store_open(dir, DESK_ST_CREATE,
	    &desk_store_schema);
	const char *ch = "{\"name\":\"app\",\"type\":\"async\"}";
	jv c = desk_json_parse_all(ch, strlen(ch));

	desk_store_lock(st);
	desk_channel_put(st, c);
	desk_store_commit(st);
	jv_free(c);
	return st;
}

/* A code bound in st to email, copied to code; 1 when one was. */
static int
bind(struct desk_store *st, const char *email, char *code)
{
	char json[96];
	struct desk_err e;

	snprintf(json, sizeof json, "{\"email\":\"%s\"}", email);
	jv b = desk_json_parse_all(json, strlen(json));
	jv o = desk_code_bind(st, b, 300, &e);
	const char *c = desk_jstr(o, "code");
	int r = c && strlen(c) == DESK_CODE_LEN;

	if (r)
		memcpy(code, c, DESK_CODE_LEN + 1);
	desk_store_commit(st);
	jv_free(o);
	jv_free(b);
	return r;
}

/* Whether user ucid of channel app is identified by code in st. */
static int
verify(struct desk_store *st, const char *ucid, const char *code)
{
	int identified = 0;
	jv r = desk_code_verify(st, "app", ucid, code, desk_now(), &identified);

	desk_store_commit(st);
	jv_free(r);
	return identified;
}

int
main(void)
{
	char dir[] = "/tmp/desk-unit-secret.XXXXXX";
	char a[96], b[96], ca[DESK_CODE_LEN + 1], cb[DESK_CODE_LEN + 1];

	if (!mkdtemp(dir))
		return 1;
	snprintf(a, sizeof a, "%s/a", dir);
	snprintf(b, sizeof b, "%s/b", dir);
	struct desk_store *sa = store_with_channel(a), *sb = store_with_channel(b);

	ok(bind(sa, "x@a.example", ca), "a code is bound in store a");
	ok(bind(sb, "y@b.example", cb), "a code is bound in store b");
	ok(!verify(sb, "u0", ca), "store a's code does not identify anyone in b");
	desk_store_close(sa);
	ok(verify(sb, "u1", cb), "store b's code identifies its user in b, "
	    "after store a was closed");

	/* Reopened, b reads its own secret back from secrets/ident.key. */
	desk_store_close(sb);
	sb = desk_store_open(b, 0, &desk_store_schema);
	ok(bind(sb, "z@b.example", cb), "a second code is bound in b, reopened");
	ok(verify(sb, "u2", cb), "and identifies its user");
	desk_store_close(sb);

	return done_testing_in(dir);
}
