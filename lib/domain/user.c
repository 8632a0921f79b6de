/*
 * user.c: users, found by (channel, user_custom_id), and the linking of
 * their profiles by email and phone under the seed's rule: a contact is not
 * linked when it already belongs to another user_custom_id of the same
 * channel. desk-case, desk-identify and desk-reply all resolve users here.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/domain.h"

jv
desk_user_get(struct desk_store *st, uint64_t id)
{
	return desk_record(st, DESK_T_USER, id, NULL);
}

uint64_t
desk_user_by_custom_id(struct desk_store *st, const char *channel,
    const char *ucid, size_t ucidlen)
{
	struct desk_key k;
	struct desk_user_slot s;
	uint64_t id;

	desk_key_ucid(&k, channel, ucid, ucidlen);
	if (!desk_hx_get(st, &k, &id, NULL) || !desk_user_slot(st, id, &s))
		return 0;
	return id;
}

static int
list_has(jv list, const char *s)
{
	int found = 0;

	if (jv_get_kind(list) != JV_KIND_ARRAY)
		return 0;
	jv_array_foreach(list, i, e) {
		if (jv_get_kind(e) == JV_KIND_STRING && !strcmp(jv_string_value(e), s))
			found = 1;
		jv_free(e);
	}
	return found;
}

static const char *
plural(const char *kind)
{
	return !strcmp(kind, "email") ? "emails" : "phones";
}

uint64_t
desk_user_by_contact(struct desk_store *st, const char *kind, const char *norm)
{
	struct desk_key k;
	uint64_t id;

	desk_key_contact(&k, kind, norm);
	if (!desk_hx_get(st, &k, &id, NULL))
		return 0;
	/* The entry may be stale: the contact may since have been unlinked. */
	jv u = desk_user_get(st, id);
	int ok = jv_is_valid(u) && list_has(desk_jget(u, plural(kind)), norm);
	jv_free(u);
	return ok ? id : 0;
}

int
desk_email_norm(const char *in, struct desk_buf *out)
{
	const char *s = in, *e = in + strlen(in);

	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	const char *at = memchr(s, '@', (size_t)(e - s));
	if (!at || at == s || at + 1 == e || e - s > 254 ||
	    memchr(at + 1, '@', (size_t)(e - at - 1)) || !memchr(at, '.', (size_t)(e - at)))
		return 0;
	out->len = 0;
	for (const char *p = s; p < e; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c == 0x7f)
			return 0;
		desk_buf_addc(out, (char)tolower(c));
	}
	desk_buf_str(out);
	return 1;
}

int
desk_phone_norm(const char *in, struct desk_buf *out)
{
	size_t digits = 0;

	out->len = 0;
	for (const char *p = in; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			desk_buf_addc(out, *p);
			digits++;
		} else if (!strchr(" +-().\t", *p))
			return 0;
	}
	desk_buf_str(out);
	return digits >= 5 && digits <= 20;
}

void
desk_user_save(struct desk_store *st, jv rec, int64_t now)
{
	rec = desk_jset(rec, "updated_at", desk_jtime(now));
	/* Stored "rec" first, then the fields in rec's order. */
	desk_log_add_as(st, "user", rec);
	jv_free(rec);
}

/* Whether the user has a user_custom_id on channel. */
static int
has_custom_id_on(jv user, const char *channel)
{
	int found = 0;
	jv ids = desk_jget(user, "custom_ids");

	if (jv_get_kind(ids) != JV_KIND_ARRAY)
		return 0;
	jv_array_foreach(ids, i, p) {
		const char *ch = desk_jstr(p, "channel");
		if (ch && !strcmp(ch, channel))
			found = 1;
		jv_free(p);
	}
	return found;
}

static int
id_in(jv list, uint64_t id)
{
	int found = 0;

	if (jv_get_kind(list) != JV_KIND_ARRAY)
		return 0;
	jv_array_foreach(list, i, e) {
		if (jv_get_kind(e) == JV_KIND_NUMBER &&
		    jv_number_value(e) == (double)id)
			found = 1;
		jv_free(e);
	}
	return found;
}

static jv
add_id(jv user, uint64_t id)
{
	jv list = jv_copy(desk_jget(user, "linked_users"));

	if (jv_get_kind(list) != JV_KIND_ARRAY) {
		jv_free(list);
		list = jv_array();
	}
	list = jv_array_append(list, jv_number((double)id));
	return desk_jset(user, "linked_users", list);
}

/* Channels where both users have a user_custom_id: then they are two people. */
static const char *
shared_channel(jv a, jv b)
{
	const char *found = NULL;
	jv ids = desk_jget(a, "custom_ids");

	if (jv_get_kind(ids) != JV_KIND_ARRAY)
		return NULL;
	jv_array_foreach(ids, i, p) {
		const char *ch = desk_jstr(p, "channel");
		if (!found && ch && has_custom_id_on(b, ch))
			found = desk_jstr(p, "channel");
		jv_free(p);
	}
	return found;
}

#define GROUP_MAX 256

/* User id's record, owned: self (borrowed) when id is self_id, which may not be saved yet. */
static jv
record_of(struct desk_store *st, uint64_t id, uint64_t self_id, jv self)
{
	return id == self_id && jv_is_valid(self) ? jv_copy(self) :
	    desk_user_get(st, id);
}

/*
 * The users linked to id directly or through earlier links, id first: the
 * profiles of one person. self (borrowed, or invalid) is id's record as it
 * is about to be saved. Returns how many (at most GROUP_MAX) in ids.
 */
static size_t
group_of(struct desk_store *st, uint64_t id, jv self, uint64_t *ids)
{
	size_t n = 0;

	ids[n++] = id;
	for (size_t i = 0; i < n; i++) {
		jv u = record_of(st, ids[i], id, self);
		jv list = desk_jget(u, "linked_users");
		if (jv_get_kind(list) == JV_KIND_ARRAY)
			jv_array_foreach(list, k, e) {
				double d = jv_get_kind(e) == JV_KIND_NUMBER ?
				    jv_number_value(e) : 0;
				/* A damaged record must not make the cast undefined. */
				uint64_t x = d >= 1 && d < 9007199254740992.0 ? (uint64_t)d : 0;
				int known = !x;
				for (size_t j = 0; j < n && !known; j++)
					known = ids[j] == x;
				if (!known && n < GROUP_MAX)
					ids[n++] = x;
				jv_free(e);
			}
		jv_free(u);
	}
	return n;
}

/*
 * Why the profiles of a (record self, borrowed, or invalid) and b must not
 * be linked: the seed's rule, that a contact is not linked when it belongs
 * to another user_custom_id of the same channel, applied to both people's
 * linked profiles, so that a link made earlier cannot carry a contact
 * across that line. NULL when they may be linked (also when they are).
 */
static const char *
link_conflict(struct desk_store *st, uint64_t a, jv self, uint64_t b, int users,
    char *why, size_t whylen)
{
	uint64_t ga[GROUP_MAX], gb[GROUP_MAX];
	size_t na = group_of(st, a, self, ga), nb = group_of(st, b, jv_invalid(), gb);
	const char *found = NULL;

	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb; j++)
			if (ga[i] == gb[j])
				return NULL;
	if (na + nb > DESK_MAX_LINKS) {
		snprintf(why, whylen, "linking them would join more than %d "
		    "profiles", DESK_MAX_LINKS);
		return why;
	}
	for (size_t i = 0; i < na && !found; i++) {
		jv ua = record_of(st, ga[i], a, self);
		for (size_t j = 0; j < nb && !found; j++) {
			jv ub = desk_user_get(st, gb[j]);
			const char *ch = shared_channel(ua, ub);
			if (ch && users)
				snprintf(why, whylen, "%s a user_custom_id of "
				    "channel %s", i || j ? "profiles linked to them have" :
				    "both users have", ch);
			else if (ch)
				snprintf(why, whylen, "belongs to another "
				    "user_custom_id of channel %s%s", ch, i || j ?
				    " (through a linked profile)" : "");
			found = ch ? why : NULL;
			jv_free(ub);
		}
		jv_free(ua);
	}
	return found;
}

int
desk_user_link(struct desk_store *st, uint64_t a, uint64_t b, int64_t now,
    struct desk_err *e)
{
	if (a == b)
		return desk_err_why(e, DESK_EX_NO, NULL, "a user cannot be linked "
		    "to itself");
	jv ua = desk_user_get(st, a), ub = desk_user_get(st, b);
	int r = 0;

	if (!jv_is_valid(ua) || !jv_is_valid(ub))
		r = desk_err_why(e, DESK_EX_NO, NULL, "no such user");
	else if (link_conflict(st, a, jv_invalid(), b, 1, e->msg, sizeof e->msg))
		r = desk_err_why(e, DESK_EX_NO, NULL, e->msg);
	else {
		if (!id_in(desk_jget(ua, "linked_users"), b))
			desk_user_save(st, add_id(jv_copy(ua), b), now);
		if (!id_in(desk_jget(ub, "linked_users"), a))
			desk_user_save(st, add_id(jv_copy(ub), a), now);
	}
	jv_free(ua);
	jv_free(ub);
	return desk_store_err(st, e) < 0 ? -1 : r;
}

/* A new user's members, in the record's order; desk_user_new sets the first two and the times. */
static const char user_proto[] = "{\"user_id\":0,\"custom_ids\":[],"
    "\"emails\":[],\"phones\":[],\"name\":null,\"company\":null,"
    "\"fields\":{},\"identified\":false,\"linked_users\":[],"
    "\"created_at\":null,\"updated_at\":null}";

jv
desk_user_new(uint64_t id, const struct desk_who *w, int64_t now)
{
	jv ids = jv_array();

	if (w) {
		jv cid = jv_object();
		cid = desk_jset_str(cid, "channel", w->channel);
		cid = desk_jset(cid, "user_custom_id", desk_jstring(w->ucid, w->ucidlen));
		ids = jv_array_append(ids, cid);
	}
	jv u = desk_jproto(user_proto);
	u = desk_jset_int(u, "user_id", (int64_t)id);
	u = desk_jset(u, "custom_ids", ids);
	u = desk_jset(u, "created_at", desk_jtime(now));
	return desk_jset(u, "updated_at", desk_jtime(now));
}

/*
 * A new user with nothing but its user_custom_id: desk_user_new's record
 * as desk_user_save would store it, printed from user_proto and applied
 * from what it has, without the copy built. Returns the new id.
 */
static uint64_t
user_new_plain(struct desk_store *st, const struct desk_who *w, int64_t now)
{
	static const char *const keys[] = { "user_id", "custom_ids",
		"created_at", "updated_at" };
	const char *when = desk_time_text(now);
	struct desk_jvals v = DESK_JVALS_INIT;
	struct desk_buf b = DESK_BUF_INIT;
	uint64_t uid = desk_store_newid(st, DESK_USER);

	desk_jvals_int(&v, uid);
	struct desk_buf *ids = desk_jvals_next(&v);
	desk_buf_adds(ids, "[{\"channel\":");
	desk_json_dump_str(ids, w->channel, strlen(w->channel));
	desk_buf_adds(ids, ",\"user_custom_id\":");
	desk_json_dump_str(ids, w->ucid, w->ucidlen);
	desk_buf_adds(ids, "}]");
	desk_jvals_str(&v, when, strlen(when));
	desk_jvals_str(&v, when, strlen(when));
	desk_jproto_print(&b, "user", user_proto, keys, &v);
	desk_buf_addc(&b, '}');
	struct desk_user_new_fields f = { uid, w->channel, w->ucid, w->ucidlen };
	desk_log_add_bytes(st, "user", b.p, b.len, desk_apply_user_new, &f);
	desk_buf_free(&b);
	return uid;
}

static jv
set_if_changed(jv u, const char *key, const char *val, int *dirty)
{
	const char *old = desk_jstr(u, key);

	if (!val || (old && !strcmp(old, val)))
		return u;
	*dirty = 1;
	return desk_jset_str(u, key, val);
}

static jv
not_linked(jv report, const char *kind, uint64_t owner, const char *reason)
{
	jv nl = jv_copy(desk_jget(report, "not_linked"));
	jv why = jv_object();

	if (!jv_is_valid(nl))
		nl = jv_object();
	if (owner)
		why = desk_jset_int(why, "user_id", (int64_t)owner);
	why = desk_jset_str(why, "reason", reason);
	return desk_jset(report, "not_linked", desk_jset(nl, kind, why));
}

/* Links one contact of user u (id uid) under the seed's rule. */
static jv
link_contact(struct desk_store *st, jv u, uint64_t uid, const char *kind,
    const char *raw, int64_t now, int *dirty, jv *report)
{
	struct desk_buf norm = DESK_BUF_INIT;
	int ok = !strcmp(kind, "email") ? desk_email_norm(raw, &norm) :
	    desk_phone_norm(raw, &norm);

	if (!ok) {
		*report = not_linked(*report, kind, 0, !strcmp(kind, "email") ?
		    "not an email address" : "not a phone number");
		desk_buf_free(&norm);
		return u;
	}
	uint64_t owner = desk_user_by_contact(st, kind, norm.p);
	jv list = desk_jget(u, plural(kind));
	if (!owner && jv_get_kind(list) == JV_KIND_ARRAY &&
	    jv_array_length(jv_copy(list)) >= DESK_MAX_CONTACTS) {
		char reason[80];
		snprintf(reason, sizeof reason, "the user has %d %s already",
		    DESK_MAX_CONTACTS, plural(kind));
		*report = not_linked(*report, kind, 0, reason);
	} else if (!owner) {
		list = jv_copy(list);
		if (jv_get_kind(list) != JV_KIND_ARRAY) {
			jv_free(list);
			list = jv_array();
		}
		u = desk_jset(u, plural(kind), jv_array_append(list, jv_string(norm.p)));
		*dirty = 1;
	} else if (owner != uid) {
		jv o = desk_user_get(st, owner);
		char whybuf[200];
		const char *why = link_conflict(st, uid, u, owner, 0, whybuf,
		    sizeof whybuf);
		if (why) {
			*report = not_linked(*report, kind, owner, why);
		} else {
			if (!id_in(desk_jget(u, "linked_users"), owner)) {
				u = add_id(u, owner);
				*dirty = 1;
			}
			if (!id_in(desk_jget(o, "linked_users"), uid))
				desk_user_save(st, add_id(jv_copy(o), uid), now);
			jv lu = jv_copy(desk_jget(*report, "linked_users"));
			if (!jv_is_valid(lu))
				lu = jv_array();
			if (!id_in(lu, owner))
				lu = jv_array_append(lu, jv_number((double)owner));
			*report = desk_jset(*report, "linked_users", lu);
		}
		jv_free(o);
	}
	desk_buf_free(&norm);
	return u;
}

/* The fields u (borrowed) has once changes' (borrowed) are merged in; invalid if none. */
static jv
merged_fields(jv u, jv changes)
{
	jv f = desk_jget(changes, "fields"), cur = desk_jget(u, "fields");

	if (jv_get_kind(f) != JV_KIND_OBJECT)
		return jv_invalid();
	return desk_fields_merge(jv_get_kind(cur) == JV_KIND_OBJECT ?
	    jv_copy(cur) : jv_object(), jv_copy(f));
}

/* Why u (borrowed) cannot take changes' (borrowed) fields; NULL if they fit. */
static const char *
fields_over(jv u, jv changes, char *why, size_t n)
{
	jv merged = merged_fields(u, changes);
	const char *r = jv_is_valid(merged) ? desk_check_fields(merged, why, n) : NULL;

	jv_free(merged);
	return r;
}

/*
 * The splice of desk_user_resolve: a known user's record printed from its
 * bytes as the value path below would print it, only the members that
 * change replaced. It takes what needs nothing but the user's own record:
 * no fields in the message, none and no linked users in the record, each
 * contact new, the user's own, or not a contact at all.
 */
#define SPLICE_ELEMS 64

/* Per handle, so that two stores in one process are set apart. */
static const char splice_tag;
struct splice_off { int off; };

int
desk_splices(struct desk_store *st)
{
	struct splice_off *o = desk_store_ext(st, &splice_tag, sizeof *o, NULL);

	return !o || !o->off;
}

void
desk_splices_set(struct desk_store *st, int on)
{
	struct splice_off *o = desk_store_ext(st, &splice_tag, sizeof *o, NULL);

	if (o)
		o->off = !on;
}

/* Whether a is the bytes of the JSON text b[0..n). */
static int
span_is(struct desk_jspan a, const char *b, size_t n)
{
	return a.p && a.n == n && !memcmp(a.p, b, n);
}

/*
 * Contact raw of kind for user uid, whose list of them is list: 1 when
 * decided (*add the list's new bytes, or left empty; a refusal in
 * *report), 0 when it is another user's (link_contact then) or list is
 * not as desk prints it.
 */
static int
splice_contact(struct desk_store *st, uint64_t uid, const char *kind,
    const char *raw, struct desk_jspan list, struct desk_buf *add, jv *report)
{
	struct desk_buf norm = DESK_BUF_INIT, d = DESK_BUF_INIT;
	struct desk_jspan e[SPLICE_ELEMS];
	struct desk_key k;
	uint64_t owner;
	int has = 0, r = 1;

	int ok = !strcmp(kind, "email") ? desk_email_norm(raw, &norm) :
	    desk_phone_norm(raw, &norm);
	int n = desk_json_elements(list.p, list.n, e, SPLICE_ELEMS);
	if (n < 0) {
		r = 0;
		goto out;
	}
	if (!ok) {
		*report = not_linked(*report, kind, 0, !strcmp(kind, "email") ?
		    "not an email address" : "not a phone number");
		goto out;
	}
	desk_json_dump_str(&d, norm.p, norm.len);
	for (int i = 0; i < n; i++)
		has |= span_is(e[i], d.p, d.len);
	/* As desk_user_by_contact: an entry not in its owner's list is stale. */
	desk_key_contact(&k, kind, norm.p);
	if (!desk_hx_get(st, &k, &owner, NULL))
		owner = 0;
	if (owner && owner != uid)
		r = 0;
	else if (owner && has)
		;                  /* the user's already */
	else if (n >= DESK_MAX_CONTACTS) {
		char reason[80];
		snprintf(reason, sizeof reason, "the user has %d %s already",
		    DESK_MAX_CONTACTS, plural(kind));
		*report = not_linked(*report, kind, 0, reason);
	} else {
		desk_buf_add(add, list.p, list.n - 1);
		if (n)
			desk_buf_addc(add, ',');
		desk_buf_add(add, d.p, d.len);
		desk_buf_addc(add, ']');
	}
out:
	desk_buf_free(&norm);
	desk_buf_free(&d);
	return r;
}

/* The string s as a member's new bytes in *by when it is not old's. */
static int
splice_str(struct desk_jspan old, const char *s, struct desk_buf *by)
{
	if (!s)
		return 0;
	desk_json_dump_str(by, s, strlen(s));
	if (!span_is(old, by->p, by->len))
		return 1;
	by->len = 0;
	return 0;
}

/* 1 when done (the record saved if it changed), 0 for the value path. */
static int
resolve_spliced(struct desk_store *st, const struct desk_who *w,
    uint64_t uid, int64_t now, jv *report)
{
	static const char *const keys[] = { "emails", "phones", "name",
		"company", "updated_at", "fields", "linked_users" };
	struct desk_jspan v[8], rec;
	struct desk_buf raw = DESK_BUF_INIT, b = DESK_BUF_INIT;
	struct desk_jsplice sp[5];
	int r = 0, dirty = 0;

	for (int i = 0; i < 5; i++)
		sp[i].by = (struct desk_buf)DESK_BUF_INIT;
	if (desk_record_spans_all(st, DESK_T_USER, uid, keys, 7, v, &raw,
	    &rec) != 1 || !span_is(v[6], "{}", 2) || !span_is(v[7], "[]", 2))
		goto out;
	for (int i = 0; i < 5; i++) {
		sp[i].at = v[i + 1];
		/* In the order desk prints them, the splice's order. */
		if (!v[i + 1].p || (i && v[i + 1].p < v[i].p + v[i].n))
			goto out;
	}
	dirty |= splice_str(v[3], w->name, &sp[2].by);
	dirty |= splice_str(v[4], w->company, &sp[3].by);
	if ((w->email && !splice_contact(st, uid, "email", w->email, v[1],
	    &sp[0].by, report)) || (w->phone && !splice_contact(st, uid,
	    "phone", w->phone, v[2], &sp[1].by, report)))
		goto out;
	r = 1;
	if (!(dirty | sp[0].by.len | sp[1].by.len))
		goto out;
	const char *when = desk_time_text(now);
	desk_json_dump_str(&sp[4].by, when, strlen(when));
	desk_json_splice(&b, rec, sp, 5);
	struct desk_jspan all = { b.p, b.len };
	desk_log_add_bytes(st, "user", b.p, b.len, desk_apply_user_bytes, &all);
out:
	for (int i = 0; i < 5; i++)
		desk_buf_free(&sp[i].by);
	desk_buf_free(&raw);
	desk_buf_free(&b);
	return r;
}

uint64_t
desk_user_resolve(struct desk_store *st, const struct desk_who *w,
    int64_t now, jv *report)
{
	uint64_t uid = w->found ? w->uid :
	    desk_user_by_custom_id(st, w->channel, w->ucid, w->ucidlen);
	int dirty = 0;
	jv u;

	*report = jv_object();
	int fields = jv_get_kind(w->fields) == JV_KIND_OBJECT &&
	    jv_object_length(jv_copy(w->fields)) > 0;
	if (!w->email && !w->phone && !w->name && !w->company && !fields)
		/* The common case: nothing to read or change, or only to make. */
		return uid ? uid : user_new_plain(st, w, now);
	if (uid && !fields && desk_splices(st)) {
		if (resolve_spliced(st, w, uid, now, report))
			return uid;
		jv_free(*report);
		*report = jv_object();
	}
	u = uid ? desk_user_get(st, uid) : desk_user_new(0, w, now);
	int changed = 0;           /* the user's bound data */
	jv data = jv_object();     /* the bound data the message brings */
	if (w->name)
		data = desk_jset_str(data, "name", w->name);
	if (w->company)
		data = desk_jset_str(data, "company", w->company);
	if (fields) {
		data = desk_jset(data, "fields", jv_copy(w->fields));
		/* Checked before anything is written: the event is then refused. */
		char why[120];
		const char *r = fields_over(u, data, why, sizeof why);
		if (r) {
			jv_free(data);
			jv_free(u);
			jv_free(*report);
			*report = desk_jset_str(jv_object(), "field", "fields");
			*report = desk_jset_str(*report, "reason", r);
			return 0;
		}
		jv merged = merged_fields(u, data);
		if (!jv_equal(jv_copy(merged), jv_copy(desk_jget(u, "fields")))) {
			u = desk_jset(u, "fields", merged);
			changed = 1;
		} else
			jv_free(merged);
	}
	if (!uid) {
		uid = desk_store_newid(st, DESK_USER);
		u = desk_jset_int(u, "user_id", (int64_t)uid);
		dirty = 1;
	}
	u = set_if_changed(u, "name", w->name, &changed);
	u = set_if_changed(u, "company", w->company, &changed);
	dirty |= changed;
	if (w->email)
		u = link_contact(st, u, uid, "email", w->email, now, &dirty, report);
	if (w->phone)
		u = link_contact(st, u, uid, "phone", w->phone, now, &dirty, report);
	if (dirty)
		desk_user_save(st, u, now);
	else
		jv_free(u);
	/* What the user's profiles share, they see alike (desk_user_update). */
	if (changed)
		desk_user_share(st, uid, data, now);
	jv_free(data);
	return uid;
}

jv
desk_user_change(struct desk_store *st, uint64_t uid, jv u, jv changes,
    int64_t now, jv *report, int *dirty)
{
	jv f = desk_jget(changes, "fields");

	*report = jv_object();
	if (jv_get_kind(f) == JV_KIND_OBJECT && jv_object_length(jv_copy(f)) > 0) {
		char why[120];
		const char *over = fields_over(u, changes, why, sizeof why);
		jv merged = over ? jv_invalid() : merged_fields(u, changes);
		if (over) {
			/* Never a record too big to read back: the fields stay. */
			jv nr = desk_jset_str(jv_object(), "reason", over);
			*report = desk_jset(*report, "not_recorded",
			    desk_jset(jv_object(), "fields", nr));
		} else if (!jv_equal(jv_copy(merged), jv_copy(desk_jget(u, "fields")))) {
			u = desk_jset(u, "fields", merged);
			*dirty = 1;
		} else
			jv_free(merged);
	}
	static const char *const text[] = { "name", "company" };
	for (int i = 0; i < 2; i++) {
		jv v = desk_jget(changes, text[i]);
		if (!jv_is_valid(v))
			continue;
		if (jv_get_kind(v) == JV_KIND_STRING && *jv_string_value(v))
			u = set_if_changed(u, text[i], jv_string_value(v), dirty);
		else if (jv_get_kind(desk_jget(u, text[i])) != JV_KIND_NULL) {
			u = desk_jset(u, text[i], jv_null());    /* null or "" clears */
			*dirty = 1;
		}
	}
	const char *e;
	if ((e = desk_jstr(changes, "email")))
		u = link_contact(st, u, uid, "email", e, now, dirty, report);
	if ((e = desk_jstr(changes, "phone")))
		u = link_contact(st, u, uid, "phone", e, now, dirty, report);
	return u;
}

void
desk_user_share(struct desk_store *st, uint64_t uid, jv changes, int64_t now)
{
	uint64_t group[GROUP_MAX];
	jv shared = jv_object();
	static const char *const keys[] = { "name", "company", "fields" };

	/* The bound data, not the contacts: those stay each profile's own. */
	for (int i = 0; i < 3; i++)
		if (desk_jhas(changes, keys[i]))
			shared = desk_jset(shared, keys[i],
			    jv_copy(desk_jget(changes, keys[i])));
	size_t n = jv_object_length(jv_copy(shared)) ?
	    group_of(st, uid, jv_invalid(), group) : 0;
	for (size_t i = 1; i < n; i++) {
		jv x = desk_user_get(st, group[i]), rep;
		int d = 0;
		if (!jv_is_valid(x))
			continue;
		x = desk_user_change(st, group[i], x, shared, now, &rep, &d);
		jv_free(rep);
		if (d)
			desk_user_save(st, x, now);
		else
			jv_free(x);
	}
	jv_free(shared);
}

jv
desk_user_update(struct desk_store *st, uint64_t uid, jv changes, int64_t now,
    jv *report)
{
	uint64_t group[GROUP_MAX];
	char why[120];
	const char *over;
	jv u = desk_user_get(st, uid);
	int dirty = 0;

	*report = jv_object();
	if (!jv_is_valid(u))
		return u;
	const char *field;
	if ((over = desk_check_sizes(changes, &field, why, sizeof why))) {
		jv_free(u);
		return jv_invalid_with_msg(jv_string_fmt("%s: %s", field, over));
	}
	size_t n = group_of(st, uid, jv_invalid(), group);
	/* Every profile must take the change, or none does. */
	for (size_t i = 0; i < n; i++) {
		jv x = i ? desk_user_get(st, group[i]) : jv_copy(u);
		over = fields_over(x, changes, why, sizeof why);
		jv_free(x);
		if (over) {
			jv_free(u);
			return jv_invalid_with_msg(jv_string_fmt("fields: %s", over));
		}
	}
	jv_free(*report);
	u = desk_user_change(st, uid, u, changes, now, report, &dirty);
	if (dirty)
		desk_user_save(st, jv_copy(u), now);
	jv_free(u);
	desk_user_share(st, uid, changes, now);
	return desk_user_get(st, uid);
}

uint64_t
desk_user_find(struct desk_store *st, jv sel, const char **why)
{
	struct desk_buf norm = DESK_BUF_INIT;
	const char *ch, *u, *s;
	size_t ulen;
	int64_t id;
	uint64_t found = 0;

	*why = NULL;
	static const char *const keys[] = { "channel", "user_custom_id", "email",
		"phone" };
	for (int i = 0; i < 4; i++)
		if (desk_jstrn(sel, keys[i], &s, &ulen) && memchr(s, '\0', ulen)) {
			/* Read as a C string, it would name someone else. */
			*why = "a selector contains a NUL character";
			return 0;
		}
	if (desk_jhas(sel, "user_id")) {
		if (!desk_jint(sel, "user_id", &id) || id < 1)
			*why = "user_id: not a user id";
		else if (!desk_user_slot(st, (uint64_t)id, &(struct desk_user_slot){ 0 }))
			*why = "user_id: no such user";
		else
			found = (uint64_t)id;
	} else if ((ch = desk_jstr(sel, "channel")) &&
	    desk_jstrn(sel, "user_custom_id", &u, &ulen)) {
		if (!(found = desk_user_by_custom_id(st, ch, u, ulen)))
			*why = "user_custom_id: no such user on that channel";
	} else if ((s = desk_jstr(sel, "email"))) {
		if (!desk_email_norm(s, &norm) ||
		    !(found = desk_user_by_contact(st, "email", norm.p)))
			*why = "email: no user has it";
	} else if ((s = desk_jstr(sel, "phone"))) {
		if (!desk_phone_norm(s, &norm) ||
		    !(found = desk_user_by_contact(st, "phone", norm.p)))
			*why = "phone: no user has it";
	} else
		*why = "user_id, channel and user_custom_id, email or phone: none given";
	desk_buf_free(&norm);
	return found;
}

static jv
drop_id(jv user, uint64_t id)
{
	jv out = jv_array(), list = desk_jget(user, "linked_users");

	if (jv_get_kind(list) == JV_KIND_ARRAY)
		jv_array_foreach(list, i, e) {
			if (jv_get_kind(e) == JV_KIND_NUMBER && jv_number_value(e) == (double)id)
				jv_free(e);
			else
				out = jv_array_append(out, e);
		}
	return desk_jset(user, "linked_users", out);
}

int
desk_user_unlink(struct desk_store *st, uint64_t a, uint64_t b, int64_t now,
    struct desk_err *e)
{
	jv ua = desk_user_get(st, a), ub = desk_user_get(st, b);
	int r = -1;

	if (!jv_is_valid(ua) || !jv_is_valid(ub))
		desk_err_why(e, DESK_EX_NO, NULL, "no such user");
	else if (!id_in(desk_jget(ua, "linked_users"), b) &&
	    !id_in(desk_jget(ub, "linked_users"), a))
		desk_err_why(e, DESK_EX_NO, NULL, "the users are not linked");
	else {
		desk_user_save(st, drop_id(jv_copy(ua), b), now);
		desk_user_save(st, drop_id(jv_copy(ub), a), now);
		r = 0;
	}
	jv_free(ua);
	jv_free(ub);
	return desk_store_err(st, e) < 0 ? -1 : r;
}

/* The fields of a user.update that must be strings (or null), or an object. */
static int
update_check(jv ev, struct desk_err *e)
{
	static const char *const strings[] = { "email", "phone", "name", "company",
		"channel", "user_custom_id" };
	jv f = desk_jget(ev, "fields");

	if (jv_is_valid(f) && jv_get_kind(f) != JV_KIND_OBJECT)
		return desk_err_set(e, DESK_EX_DATA, "fields", "must be an object");
	for (size_t i = 0; i < sizeof strings / sizeof *strings; i++) {
		jv v = desk_jget(ev, strings[i]);
		if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_STRING &&
		    jv_get_kind(v) != JV_KIND_NULL)
			return desk_err_set(e, DESK_EX_DATA, strings[i],
			    "must be a string");
	}
	return desk_err_sizes(ev, e);
}

static jv
user_update_event_unchecked(struct desk_store *st, jv ev, struct desk_err *e)
{
	const char *why;

	if (update_check(ev, e) < 0)
		return jv_invalid();
	desk_store_lock(st);
	uint64_t uid = desk_user_find(st, ev, &why);
	if (!uid) {
		desk_err_set(e, DESK_EX_DATA, NULL, "%s", why);
		return jv_invalid();
	}
	/* A contact that picked the user is not also a change to it. */
	jv changes = jv_copy(ev);
	if (!desk_jhas(ev, "user_id") && !desk_jstr(ev, "user_custom_id")) {
		if (desk_jhas(ev, "email"))
			changes = desk_jdel(changes, "email");
		else
			changes = desk_jdel(changes, "phone");
	}
	jv report;
	jv u = desk_user_update(st, uid, changes, desk_now(), &report);
	jv_free(changes);
	if (!jv_is_valid(u)) {
		jv msg = jv_invalid_get_msg(u);
		desk_err_set(e, DESK_EX_DATA, NULL, "%s",
		    jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) :
		    "rejected");
		jv_free(msg);
		jv_free(report);
		return jv_invalid();
	}
	jv_free(u);
	return jv_object_merge(desk_jset_int(jv_object(), "user_id", (int64_t)uid),
	    report);
}

/* The verb, with the store's error, when it failed, as its own. */
jv
desk_user_update_event(struct desk_store *st, jv ev, struct desk_err *e)
{
	return desk_store_result(st, user_update_event_unchecked(st, ev, e), e);
}
