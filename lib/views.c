/*
 * views.c: what the tools show people (--table, show --thread): the
 * columns of each list, shared by every tool that prints the same
 * objects (the outbox by desk-reply and desk-webhook), and a case as a
 * conversation. The table itself is base's (table.c); this file knows
 * which members of a case, a message, a channel, an outbox entry and a
 * user a person looks at.
 */
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "domain/domain.h"

static const struct desk_hue status_hues[] = { { "open", "32" },
	{ "pending", "33" }, { "closed", "2" }, { NULL, NULL } };
static const struct desk_hue state_hues[] = { { "delivered", "32" },
	{ "pending", "33" }, { "retry", "33" }, { "inflight", "36" },
	{ "dead", "1;31" }, { NULL, NULL } };
static const struct desk_hue yes_hues[] = { { "yes", "32" },
	{ "no", "2" }, { NULL, NULL } };

static const struct desk_col case_cols[] = {
	{ "CASE", "case_id", 0, DESK_COL_RIGHT, NULL },
	{ "STATUS", "status", 0, 0, status_hues },
	{ "CHANNEL", "channel", 16, 0, NULL },
	{ "USER", "user_id", 0, DESK_COL_RIGHT, NULL },
	{ "ASSIGNEE", "assignee", 16, 0, NULL },
	{ "TEAM", "team", 16, 0, NULL },
	{ "MSGS", "message_count", 0, DESK_COL_RIGHT, NULL },
	{ "MERGED", "merged_into", 0, DESK_COL_RIGHT, NULL },
	{ "UPDATED", "updated_at", 0, DESK_COL_TIME, NULL },
	{ "SUBJECT", "subject", 48, 0, NULL } };
const struct desk_view desk_view_cases = DESK_VIEW(case_cols);

static const struct desk_col message_cols[] = {
	{ "MSG", "message_id", 0, DESK_COL_RIGHT, NULL },
	{ "CASE", "case_id", 0, DESK_COL_RIGHT, NULL },
	{ "WHEN", "created_at", 0, DESK_COL_TIME, NULL },
	{ "FROM", "from", 24, 0, NULL },
	{ "TEXT", "content", 60, 0, NULL } };
const struct desk_view desk_view_messages = DESK_VIEW(message_cols);

static const struct desk_col channel_cols[] = {
	{ "NAME", "name", 24, 0, NULL },
	{ "CONNECTOR", "connector", 0, 0, NULL },
	{ "TYPE", "type", 0, 0, NULL },
	{ "ACTIVE", "active", 0, 0, yes_hues },
	{ "SECRET", "secret", 0, 0, NULL },
	{ "URL", "url", 48, 0, NULL },
	{ "UPDATED", "updated_at", 0, DESK_COL_TIME, NULL } };
const struct desk_view desk_view_channels = DESK_VIEW(channel_cols);

static const struct desk_col outbox_cols[] = {
	{ "OUT", "out_id", 0, DESK_COL_RIGHT, NULL },
	{ "CASE", "case_id", 0, DESK_COL_RIGHT, NULL },
	{ "CHANNEL", "channel", 16, 0, NULL },
	{ "VIA", "via", 0, 0, NULL },
	{ "STATE", "state", 0, 0, state_hues },
	{ "TRY", "attempt", 0, DESK_COL_RIGHT, NULL },
	{ "NEXT", "next_attempt_at", 0, DESK_COL_TIME, NULL },
	{ "HTTP", "http_status", 0, DESK_COL_RIGHT, NULL },
	{ "ERROR", "error", 32, 0, NULL },
	{ "TEXT", "content", 40, 0, NULL } };
const struct desk_view desk_view_outbox = DESK_VIEW(outbox_cols);

static const struct desk_col user_cols[] = {
	{ "USER", "user_id", 0, DESK_COL_RIGHT, NULL },
	{ "NAME", "name", 24, 0, NULL },
	{ "IDENTIFIED", "identified", 0, 0, yes_hues },
	{ "EMAILS", "emails", 32, 0, NULL },
	{ "PHONES", "phones", 24, 0, NULL },
	{ "CUSTOM IDS", "custom_ids", 40, 0, NULL },
	{ "LINKED", "linked_users", 16, 0, NULL },
	{ "UPDATED", "updated_at", 0, DESK_COL_TIME, NULL } };
const struct desk_view desk_view_users = DESK_VIEW(user_cols);

/* desk-route list: the rows of desk_rules_table, numbered. */
static const struct desk_col rule_cols[] = {
	{ "#", "n", 0, DESK_COL_RIGHT, NULL },
	{ "RULE", "name", 32, 0, NULL },
	{ "ON", "on", 0, 0, NULL },
	{ "ALL", "all", 48, 0, NULL },
	{ "ANY", "any", 40, 0, NULL },
	{ "THEN", "actions", 48, 0, NULL },
	{ "STOP", "stop", 0, 0, yes_hues } };
const struct desk_view desk_view_rules = DESK_VIEW(rule_cols);

enum who { WHO_USER, WHO_AGENT, WHO_API, WHO_RULE };

/* Who wrote m (borrowed): the user, named when the store has a name. */
static enum who
message_from(struct desk_store *st, jv m, struct desk_buf *b)
{
	const char *via = desk_jstr(m, "via"), *name;
	int64_t id = 0;

	if (via && !strcmp(via, "rule")) {
		desk_buf_addf(b, "rule %s", desk_jstr(m, "rule") ?
		    desk_jstr(m, "rule") : "?");
		return WHO_RULE;
	}
	if ((via && !strcmp(via, "api")) || (desk_jint(m, "b_from_api", &id) && id)) {
		desk_buf_adds(b, "API");
		return WHO_API;
	}
	jv staff = desk_jget(m, "staff_id");
	if ((via && !strcmp(via, "agent")) || (desk_jint(m, "staff_id", &id) && id) ||
	    jv_get_kind(staff) == JV_KIND_STRING) {
		desk_buf_adds(b, "agent");
		if (jv_get_kind(staff) == JV_KIND_STRING)
			desk_buf_addf(b, " %s", jv_string_value(staff));
		else if (desk_jint(m, "staff_id", &id) && id)
			desk_buf_addf(b, " %lld", (long long)id);
		return WHO_AGENT;
	}
	desk_jint(m, "user_id", &id);
	jv u = id > 0 ? desk_user_get(st, (uint64_t)id) : jv_invalid();
	if ((name = desk_jstr(u, "name")) && *name)
		desk_buf_addf(b, "%s (user %lld)", name, (long long)id);
	else
		desk_buf_addf(b, "user %lld", (long long)id);
	jv_free(u);
	return WHO_USER;
}

jv
desk_view_message(struct desk_store *st, jv m)
{
	struct desk_buf b = DESK_BUF_INIT;

	message_from(st, m, &b);
	m = desk_jset(m, "from", jv_string_sized(b.p ? b.p : "", (int)b.len));
	desk_buf_free(&b);
	return m;
}

static void
sgr(struct desk_buf *b, int colour, const char *code)
{
	if (colour)
		desk_buf_addf(b, "\033[%sm", code);
}

static void
time_of(struct desk_buf *b, jv o, const char *key)
{
	const char *s = desk_jstr(o, key);

	if (s && strlen(s) >= 16 && s[10] == 'T')
		desk_buf_addf(b, "%.10s %.5s", s, s + 11);
	else
		desk_buf_adds(b, s ? s : "-");
}

/* Text of a member, made safe for a terminal (no escapes), uncut. */
static void
text_of(struct desk_buf *b, const char *s, size_t n)
{
	desk_text_cell(b, s, n, (size_t)-1);
}

/* The case's head: id, channel, status, who and what it is about. */
static void
thread_head(struct desk_buf *b, struct desk_store *st, jv c, int colour)
{
	const char *s;
	int64_t v;

	sgr(b, colour, "1");
	desk_jint(c, "case_id", &v);
	desk_buf_addf(b, "case %lld", (long long)v);
	sgr(b, colour, "0");
	desk_buf_addf(b, " · %s · ", desk_jstr(c, "channel") ? desk_jstr(c, "channel") : "-");
	s = desk_jstr(c, "status");
	for (const struct desk_hue *h = status_hues; colour && s && h->value; h++)
		if (!strcmp(h->value, s))
			sgr(b, colour, h->sgr);
	desk_buf_adds(b, s ? s : "-");
	sgr(b, colour, "0");
	if (desk_jint(c, "user_id", &v)) {
		jv u = desk_user_get(st, (uint64_t)v);
		desk_buf_addf(b, " · user %lld", (long long)v);
		if ((s = desk_jstr(u, "name")) && *s) {
			desk_buf_adds(b, " ");
			text_of(b, s, strlen(s));
		}
		jv_free(u);
	}
	static const char *const who[] = { "assignee", "team" };
	for (int i = 0; i < 2; i++)
		if ((s = desk_jstr(c, who[i]))) {
			desk_buf_addf(b, " · %s ", who[i]);
			text_of(b, s, strlen(s));
		}
	desk_buf_adds(b, " · opened ");
	time_of(b, c, "created_at");
	desk_buf_addc(b, '\n');
	if ((s = desk_jstr(c, "subject"))) {
		desk_buf_adds(b, "subject: ");
		text_of(b, s, strlen(s));
		desk_buf_addc(b, '\n');
	}
}

/* One message: a line of who and when, then its text indented. */
static void
thread_message(struct desk_buf *b, struct desk_store *st, jv m, int64_t id,
    int colour)
{
	static const char *const hue[] = { "32", "36", "35", "33" };
	static const char *const mark[] = { "", " · reply", " · reply", " · reply" };
	const char *s;
	size_t n;
	int64_t from;

	desk_buf_adds(b, "\n");
	time_of(b, m, "created_at");
	desk_buf_adds(b, "  ");
	struct desk_buf who = DESK_BUF_INIT;
	enum who w = message_from(st, m, &who);
	sgr(b, colour, hue[w]);
	text_of(b, who.p, who.len);
	sgr(b, colour, "0");
	desk_buf_free(&who);
	desk_buf_adds(b, mark[w]);
	if (desk_jint(m, "case_id", &from) && from != id)
		desk_buf_addf(b, "  (from case %lld, merged)", (long long)from);
	desk_buf_addc(b, '\n');
	if (!desk_jstrn(m, "content", &s, &n) || !n) {
		desk_buf_adds(b, "    (no text)\n");
		return;
	}
	/* Line by line, so that a message's own line breaks stay. */
	while (n) {
		size_t len = 0;
		while (len < n && s[len] != '\n')
			len++;
		desk_buf_adds(b, "    ");
		text_of(b, s, len);
		desk_buf_addc(b, '\n');
		s += len + (len < n);
		n -= len + (len < n);
	}
	jv att = desk_jget(m, "attachments");
	if (jv_get_kind(att) == JV_KIND_ARRAY && jv_array_length(jv_copy(att)))
		desk_buf_addf(b, "    (%d attachments)\n", jv_array_length(jv_copy(att)));
}

void
desk_view_thread(struct desk_buf *b, struct desk_store *st, jv c, jv msgs,
    int colour)
{
	int64_t id = 0;

	desk_jint(c, "case_id", &id);
	thread_head(b, st, c, colour);
	jv_array_foreach(msgs, i, m) {
		thread_message(b, st, m, id, colour);
		jv_free(m);
	}
}
