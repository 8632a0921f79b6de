/*
 * code.c: identification codes.
 *
 * A code looks like d_7KQ2MX_vh: "d_", six characters from an alphabet of
 * 32 (A-Z and 2-9 without I and O), "_", two lowercase letters (a-z without
 * i, l and o): 30 + 9 = 39 bits from randombytes_uniform, nothing easy to
 * misread (no 0/O, no 1/l/I), and a shape no ordinary word has. Matching
 * folds case, so a code read aloud and typed back still works.
 *
 * The store keeps only a BLAKE2b hash of a code keyed with a secret of the
 * store (secrets/ident.key, 0600), compares hashes in constant time, and
 * masks code-shaped text in what it stores and quarantines.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain/domain.h"

static const char upper[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";   /* 32 */
static const char lower[] = "abcdefghjkmnpqrstuvwxyz";            /* 23 */

#define KEY_PATH "secrets/ident.key"

static int
is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z');
}

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The loose shape, so that a mistyped code is still told apart from chat. */
static int
shaped(const unsigned char *p, size_t n, size_t i)
{
	if (i + DESK_CODE_LEN > n || (p[i] != 'd' && p[i] != 'D') || p[i + 1] != '_' ||
	    p[i + 8] != '_' || (i > 0 && (is_alnum(p[i - 1]) || p[i - 1] == '_')) ||
	    (i + DESK_CODE_LEN < n && (is_alnum(p[i + DESK_CODE_LEN]) ||
	    p[i + DESK_CODE_LEN] == '_')))
		return 0;
	for (size_t k = 2; k < 8; k++)
		if (!is_alnum(p[i + k]))
			return 0;
	return is_alpha(p[i + 9]) && is_alpha(p[i + 10]);
}

int
desk_code_find(const char *s, size_t n, size_t *off)
{
	const unsigned char *p = (const unsigned char *)s;

	if (n < DESK_CODE_LEN)
		return 0;
	/* A code's second byte is '_': only before one can a code start. */
	for (const char *u = s + 1; (u = memchr(u, '_', (size_t)(s + n - u))); u++) {
		size_t i = (size_t)(u - s) - 1;
		if (i + DESK_CODE_LEN > n)
			break;
		if (shaped(p, n, i)) {
			*off = i;
			return 1;
		}
	}
	return 0;
}

size_t
desk_code_mask(char *s, size_t n)
{
	size_t count = 0;

	for (size_t i = 0; i + DESK_CODE_LEN <= n; i++)
		if (shaped((unsigned char *)s, n, i)) {
			memset(s + i + 2, '*', 6);
			memset(s + i + 9, '*', 2);
			count++;
			i += DESK_CODE_LEN - 1;
		}
	return count;
}

jv
desk_code_mask_jv(jv s)
{
	if (jv_get_kind(s) != JV_KIND_STRING)
		return s;
	size_t n = (size_t)jv_string_length_bytes(jv_copy(s));
	size_t off;
	if (!desk_code_find(jv_string_value(s), n, &off))
		return s;
	char *c = desk_xmalloc(n + 1);
	memcpy(c, jv_string_value(s), n);
	desk_code_mask(c, n);
	jv out = jv_string_sized(c, (int)n);
	free(c);
	jv_free(s);
	return out;
}

/*
 * k (consumed), or k~2, k~3... when out (borrowed) has it: two keys that
 * mask alike must not make one value vanish.
 */
static jv
unique_key(jv out, jv k)
{
	if (!jv_object_has(jv_copy(out), jv_copy(k)))
		return k;
	for (int n = 2;; n++) {
		jv t = jv_string_fmt("%s~%d", jv_string_value(k), n);
		if (!jv_object_has(jv_copy(out), jv_copy(t))) {
			jv_free(k);
			return t;
		}
		jv_free(t);
	}
}

/* Every string in v (consumed), keys included, masked: see domain/domain.h. */
static jv
mask_deep(jv v)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		return desk_code_mask_jv(v);
	case JV_KIND_ARRAY: {
		int n = jv_array_length(jv_copy(v));
		for (int i = 0; i < n; i++)
			v = jv_array_set(v, i, mask_deep(jv_array_get(jv_copy(v), i)));
		return v;
	}
	case JV_KIND_OBJECT: {
		jv out = jv_object();
		jv_object_foreach(v, k, x)
			out = jv_object_set(out, unique_key(out, desk_code_mask_jv(k)),
			    mask_deep(x));
		jv_free(v);
		return out;
	}
	default:
		return v;
	}
}

/*
 * Identifiers: keys and ids that must stay exact (domain/domain.h says which). The
 * key k (borrowed) must be the name, all of it: "id\u0000x" is free text.
 */
static int
is_identifier(jv k)
{
	const char *key = jv_string_value(k);

	static const char *const ids[] = { "type", "id", "channel",
		"user_custom_id", "user_custom_channel", "email", "phone",
		"user_email", "user_phone", "source_id", "rule", "via", "staff_id",
		"status", "case_status", "trigger", "connector", "event_id",
		"event_scope", "user_id", "case_id", "message_id", "out_id",
		"account_user_id" };

	for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
		if (!strcmp(key, ids[i]))
			return (size_t)jv_string_length_bytes(jv_copy(k)) ==
			    strlen(ids[i]);
	return 0;
}

/* Whether v (borrowed) holds a code-shaped token anywhere masking looks. */
static int
has_code(jv v, int top)
{
	size_t off;
	int found = 0;

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		return desk_code_find(jv_string_value(v),
		    (size_t)jv_string_length_bytes(jv_copy(v)), &off);
	case JV_KIND_ARRAY:
		jv_array_foreach(v, i, x) {
			found = found || has_code(x, 0);
			jv_free(x);
		}
		return found;
	case JV_KIND_OBJECT:
		jv_object_foreach(v, k, x) {
			/* Codes are rare: the list of identifiers only when one is found. */
			found = found || ((has_code(k, 0) || has_code(x, 0)) &&
			    !(top && is_identifier(k)));
			jv_free(k);
			jv_free(x);
		}
		return found;
	default:
		return 0;
	}
}

int
desk_code_may_hide(const char *p, size_t n)
{
	const char *end = p + n, *q;

	/* memchr, not memmem: this runs on every record a filter passes on. */
	for (q = p; (q = memchr(q, '_', (size_t)(end - q))); q++)
		if (q > p && (q[-1] == 'd' || q[-1] == 'D'))
			return 1;
	/* Other escapes (\n, \t, ...) decode to neither a letter nor '_'. */
	for (q = p; (q = memchr(q, '\\', (size_t)(end - q))) && q + 1 < end; q += 2)
		if (q[1] == 'u')
			return 1;
	return 0;
}

jv
desk_code_mask_event(jv ev)
{
	/* Most events hold no code: look before building anything. */
	if (!has_code(ev, 1))
		return ev;
	if (jv_get_kind(ev) != JV_KIND_OBJECT)
		return mask_deep(ev);
	jv out = jv_object();
	jv_object_foreach(ev, k, v) {
		if (!is_identifier(k)) {
			k = unique_key(out, desk_code_mask_jv(k));
			v = mask_deep(v);
		}
		out = jv_object_set(out, k, v);
	}
	jv_free(ev);
	return out;
}

/* Folds a code-shaped token to the canonical form; 0 if it cannot be a code. */
int
desk_code_norm(const char *tok, char out[DESK_CODE_LEN + 1])
{
	out[0] = 'd';
	out[1] = '_';
	out[8] = '_';
	for (int k = 2; k < 8; k++) {
		char c = tok[k];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (!strchr(upper, c) || !c)
			return 0;
		out[k] = c;
	}
	for (int k = 9; k < 11; k++) {
		char c = tok[k];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!strchr(lower, c) || !c)
			return 0;
		out[k] = c;
	}
	out[DESK_CODE_LEN] = '\0';
	return 1;
}

/*
 * The store's secret for code hashes, made on first use, kept with the
 * store handle (desk_store_ext, not a static: two stores, or a server's
 * requests on them, never share it) and wiped when the store is closed.
 */
#define SECRET_LEN 32

struct secret {
	int loaded;
	unsigned char key[SECRET_LEN];
};

static void
forget_secret(void *p)
{
	sodium_memzero(p, sizeof(struct secret));
}

/* The secret, or NULL with the store failed. */
static const unsigned char *
load_secret(struct desk_store *st)
{
	static const char tag = 0;
	struct secret *sec = desk_store_ext(st, &tag, sizeof *sec, forget_secret);

	if (!sec)
		return NULL;
	if (sec->loaded)
		return sec->key;
	int fd = desk_store_open_file(st, KEY_PATH, O_RDONLY, 0);
	if (fd < 0 && errno == ENOENT) {
		if (!desk_store_locked(st)) {
			desk_store_fail(st, DESK_EX_SOFTWARE, "internal: secret made "
			    "without the lock");
			return NULL;
		}
		unsigned char k[SECRET_LEN];
		char tmp[64];
		randombytes_buf(k, sizeof k);
		int w = desk_store_tmp(st, tmp, sizeof tmp);
		if (w < 0 || desk_write_all(w, k, sizeof k) < 0 || fsync(w) < 0 ||
		    close(w) < 0 || desk_store_link(st, tmp, KEY_PATH) < 0) {
			/* linkat, not rename: never replace a key that exists. */
			if (errno != EEXIST) {
				sodium_memzero(k, sizeof k);
				if (w >= 0)
					desk_store_unlink(st, tmp);
				desk_store_fail_errno(st, DESK_EX_IOERR, "%s/" KEY_PATH,
				    desk_store_root(st));
				return NULL;
			}
		}
		desk_store_unlink(st, tmp);
		sodium_memzero(k, sizeof k);
		desk_store_dirty(st);
		fd = desk_store_open_file(st, KEY_PATH, O_RDONLY, 0);
	}
	if (fd < 0) {
		desk_store_fail_errno(st, DESK_EX_IOERR, "%s/" KEY_PATH,
		    desk_store_root(st));
		return NULL;
	}
	ssize_t r = desk_pread_all(fd, sec->key, SECRET_LEN, 0);
	close(fd);
	if (r != SECRET_LEN) {
		forget_secret(sec);
		desk_store_fail(st, DESK_EX_IOERR, "%s/" KEY_PATH ": not a 32-byte "
		    "key", desk_store_root(st));
		return NULL;
	}
	sec->loaded = 1;
	return sec->key;
}

/* The keyed hash of a code: 0, or -1 (h zero) with the store failed. */
static int
code_hash(struct desk_store *st, const char *norm, unsigned char h[32])
{
	const unsigned char *key = load_secret(st);

	if (!key) {
		memset(h, 0, 32);
		return -1;
	}
	crypto_generichash(h, 32, (const unsigned char *)norm, DESK_CODE_LEN,
	    key, SECRET_LEN);
	return 0;
}

/* desk_code_bind_check: NULL, or why with *field and *status. */
static const char *
check_bind(struct desk_store *st, jv b, const char **field, int *status,
    char *why, size_t whylen)
{
	struct desk_buf norm = DESK_BUF_INIT;
	const char *s, *ch = desk_jstr(b, "channel");
	static const char *const strings[] = { "email", "phone", "channel",
		"user_custom_id", "name", "company" };

	*status = DESK_EX_USAGE;
	for (size_t i = 0; i < sizeof strings / sizeof *strings; i++) {
		jv v = desk_jget(b, strings[i]);
		if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_STRING) {
			*field = strings[i];
			return "must be a string";
		}
	}
	jv f = desk_jget(b, "fields");
	if (jv_is_valid(f) && jv_get_kind(f) != JV_KIND_OBJECT) {
		*field = "fields";
		return "must be an object";
	}
	/* What is bound is copied onto users later: it must fit there. */
	const char *over = desk_check_sizes(b, field, why, whylen);
	if (over) {
		*status = DESK_EX_DATA;
		return over;
	}
	if (!!ch != desk_jhas(b, "user_custom_id")) {
		*field = ch ? "user_custom_id" : "channel";
		return "channel and user_custom_id go together";
	}
	if (!ch && !desk_jhas(b, "email") && !desk_jhas(b, "phone")) {
		*field = "email";
		return "a code must be bound to an email, a phone, or a channel "
		    "and user_custom_id";
	}
	if ((s = desk_jstr(b, "email")) && !desk_email_norm(s, &norm)) {
		*field = "email";
		desk_buf_free(&norm);
		return "not an email address";
	}
	if ((s = desk_jstr(b, "phone")) && !desk_phone_norm(s, &norm)) {
		*field = "phone";
		desk_buf_free(&norm);
		return "not a phone number";
	}
	desk_buf_free(&norm);
	if (ch) {
		jv c = desk_channel_get(st, ch);
		if (!jv_is_valid(c)) {
			*field = "channel";
			*status = DESK_EX_CONFIG;
			snprintf(why, whylen, "unknown channel \"%s\"", ch);
			return why;
		}
		jv_free(c);
		const char *u = desk_jstr(b, "user_custom_id");
		if (!*u) {
			*field = "user_custom_id";
			return "empty";
		}
	}
	return NULL;
}

static int
code_bind_check_unchecked(struct desk_store *st, jv bind, struct desk_err *e)
{
	const char *field = NULL;
	int status;
	const char *why = check_bind(st, bind, &field, &status, e->msg,
	    sizeof e->msg);

	return why ? desk_err_why(e, status, field, why) : 0;
}

/* The verb, with the store's error, when it failed, as its own. */
int
desk_code_bind_check(struct desk_store *st, jv bind, struct desk_err *e)
{
	int r = code_bind_check_unchecked(st, bind, e);

	return desk_store_err(st, e) < 0 ? -1 : r;
}

uint64_t
desk_code_issue(struct desk_store *st, jv bind, int64_t ttl, int64_t now,
    char code[DESK_CODE_LEN + 1], int64_t *expires)
{
	unsigned char h[32];
	char hex[65];

	code[0] = 'd';
	code[1] = '_';
	for (int k = 2; k < 8; k++)
		code[k] = upper[randombytes_uniform(sizeof upper - 1)];
	code[8] = '_';
	for (int k = 9; k < 11; k++)
		code[k] = lower[randombytes_uniform(sizeof lower - 1)];
	code[DESK_CODE_LEN] = '\0';
	if (code_hash(st, code, h) < 0)
		return 0;
	desk_hex(h, sizeof h, hex);
	*expires = now + ttl;

	uint64_t id = desk_store_newid(st, DESK_CODE);
	jv r = jv_object();
	r = desk_jset_str(r, "rec", "code");
	r = desk_jset_int(r, "code_id", (int64_t)id);
	r = desk_jset_str(r, "hash", hex);
	r = desk_jset(r, "bind", jv_copy(bind));
	r = desk_jset(r, "created_at", desk_jtime(now));
	r = desk_jset(r, "expires_at", desk_jtime(*expires));
	desk_log_add(st, r);
	jv_free(r);
	sodium_memzero(h, sizeof h);
	return id;
}

/*
 * Looks a code up: its id and slot, or 0. The index is keyed by the keyed
 * hash; the record's hash is compared again, in constant time.
 */
static uint64_t
code_lookup(struct desk_store *st, const char *norm, struct desk_code_slot *s,
    jv *rec)
{
	unsigned char h[32], want[32];
	struct desk_key k;
	uint64_t id;
	size_t n;

	if (code_hash(st, norm, h) < 0)
		return 0;
	desk_key_code(&k, h);
	if (!desk_hx_get(st, &k, &id, NULL) || !desk_code_slot(st, id, s)) {
		sodium_memzero(h, sizeof h);
		return 0;
	}
	*rec = desk_log_get(st, s->rec);
	const char *hex = desk_jstr(*rec, "hash");
	int same = hex && strlen(hex) == 64 &&
	    sodium_hex2bin(want, sizeof want, hex, 64, NULL, &n, NULL) == 0 &&
	    n == sizeof want && sodium_memcmp(want, h, sizeof h) == 0;
	sodium_memzero(h, sizeof h);
	if (!same) {
		jv_free(*rec);
		*rec = jv_invalid();
		return 0;
	}
	return id;
}

/* The account user a code was bound to: found by its key, or created. */
static uint64_t
account_user(struct desk_store *st, jv bind, int64_t now, jv *answer)
{
	const char *ch = desk_jstr(bind, "channel"), *u, *email, *phone;
	size_t ulen;
	struct desk_buf norm = DESK_BUF_INIT;
	uint64_t id = 0;

	if (ch && desk_jstrn(bind, "user_custom_id", &u, &ulen)) {
		struct desk_who w = { .channel = ch, .ucid = u, .ucidlen = ulen };
		jv report;
		id = desk_user_resolve(st, &w, now, &report);
		jv_free(report);
	} else if ((email = desk_jstr(bind, "email")) && desk_email_norm(email, &norm))
		id = desk_user_by_contact(st, "email", norm.p);
	else if ((phone = desk_jstr(bind, "phone")) && desk_phone_norm(phone, &norm))
		id = desk_user_by_contact(st, "phone", norm.p);
	desk_buf_free(&norm);
	if (!id)
		id = desk_store_newid(st, DESK_USER);
	/* The site's current data about its user, contacts included. */
	jv acct = desk_user_get(st, id);
	if (!jv_is_valid(acct))
		acct = desk_user_new(id, NULL, now);
	jv changes = desk_jdel(desk_jdel(jv_copy(bind), "channel"), "user_custom_id");
	jv report;
	int dirty = 1;
	acct = desk_user_change(st, id, acct, changes, now, &report, &dirty);
	if (desk_jhas(report, "not_recorded"))
		*answer = desk_jset(*answer, "not_recorded",
		    jv_copy(desk_jget(report, "not_recorded")));
	desk_user_save(st, acct, now);
	desk_user_share(st, id, changes, now);
	jv_free(changes);
	jv_free(report);
	return id;
}

/*
 * The throttles: a GCRA (a token bucket kept as one time) per channel and
 * one for the store, spent by failed attempts only. DESK_IDENT_LIMITS is
 * COUNT/SECONDS for a channel, then for the store: COUNT failures at once,
 * then one every SECONDS/COUNT. The state is each bucket's theoretical
 * arrival time in milliseconds, carried by the ident record of every
 * failure (tat_channel, tat_store) and derived into the index from there.
 */
struct limit {
	int64_t period, tolerance;   /* ms between failures; burst allowance */
};

static struct limit
limit_of(const struct desk_limit *l)
{
	struct limit g;

	g.period = (int64_t)l->seconds * 1000 / l->count;
	if (g.period < 1)
		g.period = 1;
	g.tolerance = (int64_t)(l->count - 1) * g.period;
	return g;
}


/*
 * Whether one more failure on channel would conform to both limits; tat[]
 * gets the buckets' times after such a failure.
 */
static int
within_limits(struct desk_store *st, const char *channel, int64_t now,
    int64_t tat[2])
{
	int ok = 1;

	for (int i = 0; i < 2; i++) {
		struct limit g = limit_of(&desk_env()->ident_limits[i]);
		struct desk_key k;
		uint64_t v = 0;
		int64_t ms = now * 1000;
		desk_code_throttle_key(&k, i ? NULL : channel);
		if (!desk_hx_get(st, &k, &v, NULL) || v > INT64_MAX / 2)
			v = 0;
		if ((int64_t)v > ms + g.tolerance)
			ok = 0;
		tat[i] = ((int64_t)v > ms ? (int64_t)v : ms) + g.period;
	}
	return ok;
}

/*
 * The user's invalid codes in a row and the time of the lockout: from the
 * slot (apply_ident), or from the user record of a store written before
 * the ident records carried them, whichever says more.
 */
static void
user_failures(const struct desk_user_slot *us, jv user, int64_t *failures,
    int64_t *locked)
{
	int64_t old = 0;
	const char *t;

	*failures = (int64_t)us->failures;
	*locked = (int64_t)us->locked_at;
	if (desk_jint(user, "ident_failures", &old) && old > *failures)
		*failures = old;
	if (!*locked && (t = desk_jstr(user, "ident_locked_at")))
		desk_time_parse(t, locked);
}

jv
desk_code_user_view(struct desk_store *st, uint64_t uid, jv user)
{
	struct desk_user_slot us;
	int64_t failures, locked;

	if (!jv_is_valid(user) || !desk_user_slot(st, uid, &us))
		return user;
	user_failures(&us, user, &failures, &locked);
	user = desk_jset_int(user, "ident_failures", failures);
	return desk_jset(user, "ident_locked_at", locked ? desk_jtime(locked) : jv_null());
}

static const char *
reason_of(uint64_t code_id, const struct desk_code_slot *s, jv code,
    int64_t failures, int64_t locked, int64_t now)
{
	const char *t;
	int64_t created = 0;

	if (!code_id)
		return "unknown";
	if (s->used)
		return "used";
	if (now >= s->expires_at)
		return "expired";
	if (s->attempts + 1 > DESK_CODE_ATTEMPTS)
		return "attempts";
	if (locked && failures >= DESK_USER_FAILURES &&
	    (t = desk_jstr(code, "created_at")) && desk_time_parse(t, &created) &&
	    created <= locked)
		return "locked";
	return NULL;
}

/* A valid code: uid is linked to the account and identified; the answer. */
static jv
identify(struct desk_store *st, uint64_t uid, jv code, jv r, jv *answer,
    int64_t now)
{
	jv bind = desk_jget(code, "bind");
	uint64_t acct = account_user(st, bind, now, answer);
	struct desk_err nowhy;

	if (acct != uid && desk_user_link(st, uid, acct, now, &nowhy) < 0) {
		jv nl = jv_object();
		nl = desk_jset_int(nl, "user_id", (int64_t)acct);
		nl = desk_jset_str(nl, "reason", nowhy.msg);
		nl = desk_jset(jv_object(), "account", nl);
		*answer = desk_jset(*answer, "not_linked", jv_copy(nl));
		r = desk_jset(r, "not_linked", nl);
	}
	/* The bound data is the user's now; the user is identified. */
	jv user = desk_user_get(st, uid);
	jv changes = jv_copy(bind);
	changes = desk_jdel(desk_jdel(changes, "channel"), "user_custom_id");
	changes = desk_jdel(desk_jdel(changes, "email"), "phone");
	int dirty = 0;
	jv report;
	user = desk_user_change(st, uid, user, changes, now, &report, &dirty);
	if (desk_jhas(report, "not_recorded"))
		*answer = desk_jset(*answer, "not_recorded",
		    jv_copy(desk_jget(report, "not_recorded")));
	jv_free(report);
	user = desk_jset(user, "identified", jv_true());
	user = desk_jset(user, "identified_at", desk_jtime(now));
	user = desk_jset_int(user, "account_user_id", (int64_t)acct);
	/* Where older versions counted failures; the ident records do now. */
	user = desk_jdel(desk_jdel(user, "ident_failures"), "ident_locked_at");
	desk_user_save(st, user, now);
	/* Every profile linked to this one sees the account's data too. */
	desk_user_share(st, uid, changes, now);
	jv_free(changes);
	*answer = desk_jset_int(*answer, "account_user_id", (int64_t)acct);
	return desk_jset_int(r, "account_user_id", (int64_t)acct);
}

jv
desk_code_present(struct desk_store *st, uint64_t uid, const char *channel,
    const char *token, const char *scope, const char *event_id, int64_t now)
{
	char norm[DESK_CODE_LEN + 1];
	struct desk_code_slot s;
	struct desk_user_slot us;
	jv code = jv_invalid();
	int64_t tat[2], failures, locked;
	uint64_t cid = 0;
	const char *why;

	if (!desk_user_slot(st, uid, &us))
		return jv_invalid_with_msg(jv_string("no such user"));
	if (!channel)
		channel = "";     /* a bucket of its own, never the store's */
	jv user = desk_user_get(st, uid);
	user_failures(&us, user, &failures, &locked);
	jv_free(user);
	/* Over the limits, the code is not even looked up, nor spent. */
	int throttled = !within_limits(st, channel, now, tat);
	if (throttled)
		why = "throttled";
	else {
		if (desk_code_norm(token, norm))
			cid = code_lookup(st, norm, &s, &code);
		why = reason_of(cid, &s, code, failures, locked, now);
	}
	sodium_memzero(norm, sizeof norm);

	jv answer = jv_object();
	answer = desk_jset_str(answer, "identification", why ? "invalid" : "valid");
	jv r = jv_object();
	r = desk_jset_str(r, "rec", "ident");
	r = desk_jset_int(r, "user_id", (int64_t)uid);
	r = desk_jset_str(r, "channel", channel);
	r = desk_jset(r, "code_id", cid ? jv_number((double)cid) : jv_null());
	if (cid)
		r = desk_jset_int(r, "attempt", (int64_t)s.attempts + 1);
	r = desk_jset_str(r, "result", why ? "invalid" : "valid");
	if (why)
		r = desk_jset_str(r, "reason", why);
	if (why && !throttled) {
		/* One small record per failure: never a new copy of the user. */
		failures++;
		if (!locked && failures >= DESK_USER_FAILURES)
			locked = now;
		r = desk_jset_int(r, "failures", failures);
		if (locked)
			r = desk_jset(r, "locked_at", desk_jtime(locked));
		r = desk_jset_int(r, "tat_channel", tat[0]);
		r = desk_jset_int(r, "tat_store", tat[1]);
	}
	r = desk_jset(r, "at", desk_jtime(now));

	/*
	 * The user's side first, the attempt record last: it consumes the code
	 * and makes a replay of the event answer the same. A crash between them
	 * leaves an identified user with an unused code, never the reverse.
	 */
	if (!why)
		r = identify(st, uid, code, r, &answer, now);
	if (event_id) {
		r = desk_jset_str(r, "event_scope", scope);
		r = desk_jset_str(r, "event_id", event_id);
	}
	desk_log_add(st, r);
	jv_free(r);
	jv_free(code);
	return answer;
}

/* A replay's answer: what the attempt record of its first run says. */
static jv
answer_of(jv seen)
{
	static const char *const keep[] = { "account_user_id", "not_linked" };
	jv a = desk_jset(jv_object(), "identification",
	    jv_copy(desk_jget(seen, "result")));

	for (int i = 0; i < 2; i++)
		if (desk_jhas(seen, keep[i]))
			a = desk_jset(a, keep[i], jv_copy(desk_jget(seen, keep[i])));
	jv_free(seen);
	return a;
}

static jv
code_identify_unchecked(struct desk_store *st, jv ev, const char *tok,
    struct desk_err *e)
{
	struct desk_user_slot s;
	int64_t uid, mid;

	if (!desk_jint(ev, "user_id", &uid) || uid < 1) {
		desk_err_set(e, DESK_EX_DATA, "user_id", "not a user id");
		return jv_invalid();
	}
	if (!desk_user_slot(st, (uint64_t)uid, &s)) {
		desk_err_set(e, DESK_EX_DATA, "user_id", "no such user");
		return jv_invalid();
	}
	if (tok) {
		char key[32];
		int keyed = desk_jint(ev, "message_id", &mid) && mid > 0;
		snprintf(key, sizeof key, "%lld", keyed ? (long long)mid : 0LL);
		desk_store_lock(st);
		/* A replay gets the answer the first run gave, and spends nothing. */
		jv a = keyed ? desk_event_seen(st, "ident", NULL, key, strlen(key), 0) :
		    jv_invalid();
		if (jv_is_valid(a))
			a = answer_of(a);
		else if (desk_user_slot(st, (uint64_t)uid, &s) &&
		    !s.identified)
			a = desk_code_present(st, (uint64_t)uid, desk_jstr(ev, "channel"),
			    tok, "ident", keyed ? key : NULL, desk_now());
		if (jv_is_valid(a)) {
			const char *r = desk_jstr(a, "identification");
			jv out = desk_jset(jv_object(), "user_identified",
			    jv_bool(r && !strcmp(r, "valid")));
			return jv_object_merge(out, a);
		}
	}
	if (s.identified)
		return desk_jset(jv_object(), "user_identified", jv_true());
	jv out = desk_jset(jv_object(), "user_identified", jv_false());
	return desk_jset_str(out, "identification", "not_sent");
}

/* The verb, with the store's error, when it failed, as its own. */
jv
desk_code_identify(struct desk_store *st, jv ev, const char *tok,
    struct desk_err *e)
{
	return desk_store_result(st, code_identify_unchecked(st, ev, tok, e), e);
}

jv
desk_code_verify(struct desk_store *st, const char *channel, const char *ucid,
    const char *code, int64_t now, int *ok)
{
	struct desk_who w = { .channel = channel, .ucid = ucid,
		.ucidlen = strlen(ucid) };
	struct desk_user_slot s = { 0 };
	jv report;
	size_t off;

	desk_store_lock(st);
	uint64_t uid = desk_user_resolve(st, &w, now, &report);
	jv_free(report);
	desk_user_slot(st, uid, &s);
	jv a = desk_jset_int(jv_object(), "user_id", (int64_t)uid);
	if (s.identified) {
		*ok = 1;
		return desk_jset(a, "user_identified", jv_true());
	}
	if (strlen(code) != DESK_CODE_LEN || !desk_code_find(code, DESK_CODE_LEN, &off)) {
		*ok = 0;
		a = desk_jset(a, "user_identified", jv_false());
		return desk_jset_str(a, "identification", "not_sent");
	}
	jv r = desk_code_present(st, uid, channel, code, "ident", NULL, now);
	const char *res = desk_jstr(r, "identification");
	*ok = res && !strcmp(res, "valid");
	a = desk_jset(a, "user_identified", jv_bool(*ok));
	return jv_object_merge(a, r);
}

static jv
code_bind_unchecked(struct desk_store *st, jv bind, int64_t ttl, struct desk_err *e)
{
	char code[DESK_CODE_LEN + 1];
	int64_t expires;

	if (desk_code_bind_check(st, bind, e) < 0)
		return jv_invalid();
	desk_store_lock(st);
	desk_code_issue(st, bind, ttl, desk_now(), code, &expires);
	jv a = desk_jset_str(jv_object(), "code", code);
	desk_wipe(code, sizeof code);
	return desk_jset(a, "expires_at", desk_jtime(expires));
}

/* The verb, with the store's error, when it failed, as its own. */
jv
desk_code_bind(struct desk_store *st, jv bind, int64_t ttl, struct desk_err *e)
{
	return desk_store_result(st, code_bind_unchecked(st, bind, ttl, e), e);
}

/* The binding alone, in a fixed order. */
static jv
bind_of(jv ev)
{
	static const char *const keys[] = { "email", "phone", "channel",
		"user_custom_id", "name", "company", "fields" };
	jv b = jv_object();

	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		jv v = desk_jget(ev, keys[i]);
		if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL)
			b = desk_jset(b, keys[i], jv_copy(v));
	}
	return b;
}

jv
desk_code_request(struct desk_store *st, jv ev, struct desk_err *e)
{
	int64_t ttl = DESK_CODE_TTL;

	if (desk_jhas(ev, "ttl") && (!desk_jint(ev, "ttl", &ttl) || ttl < 1 ||
	    ttl > 86400)) {
		desk_err_set(e, DESK_EX_DATA, "ttl", "must be a whole number of "
		    "seconds, 1 to 86400");
		return jv_invalid();
	}
	/* What is stored with the code is masked, but for the identifiers. */
	jv b = desk_code_mask_event(bind_of(ev));
	jv a = desk_code_bind(st, b, ttl, e);
	jv_free(b);
	return a;
}
