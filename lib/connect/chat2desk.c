/*
 * chat2desk.c: the chat2desk connector.
 */
#include <stdio.h>
#include <string.h>

#include "connect/connect.h"

/* ---- settings (channel add, set) ---- */

/* ---- inbound: authentication and the normaliser ---- */

/*
 * The channel's token in the Authorization header, bare as Chat2Desk's own
 * API takes it (or after "Bearer "). The hook carries nothing else that a
 * third party could not know, and the seed says nothing of a token in the
 * hook's URL, so the header is the one place looked at.
 */
static int
c2d_auth(jv ch, const struct desk_secrets *sec, const struct desk_http_in *in,
    struct desk_err *e)
{
	(void)ch;
	return desk_auth_token(sec->token, in, "authorization", e);
}

/* The service message that says an operator closed the dialog (seed). */
static const char dialog_closed[] = "c2d: dialog closed";

/* Our own replies and Chat2Desk's, echoed back to the hook. */
static int
is_echo(const char *kind)
{
	return !strcmp(kind, "to_client") || !strcmp(kind, "autoreply") ||
	    !strcmp(kind, "system");
}

/* Adds key of o (an id: string or number) to the object x as a string. */
static int
ext_id(jv *x, jv o, const char *pre, const char *key, const char *as,
    struct desk_err *e)
{
	jv v;

	if (desk_in_id(o, pre, key, DESK_IN_NUMBER, &v, e) < 0)
		return -1;
	*x = desk_in_set(*x, as ? as : key, v);
	return 0;
}

/*
 * Whether the chat is this channel's (seed): with an operator id set, only
 * chats assigned to that operator; without one, only the general queue
 * (no operator: null, absent or 0).
 */
static int
ours(jv ch, jv op)
{
	jv want = desk_jget(ch, "operator_id");
	char buf[24];
	const char *w = NULL;

	if (jv_get_kind(want) == JV_KIND_NUMBER) {
		snprintf(buf, sizeof buf, "%.0f", jv_number_value(want));
		w = buf;
	} else if (jv_get_kind(want) == JV_KIND_STRING && *jv_string_value(want))
		w = jv_string_value(want);
	int queue = !jv_is_valid(op) || !strcmp(jv_string_value(op), "0");
	if (!w)
		return queue;
	return !queue && !strcmp(jv_string_value(op), w);
}

/*
 * A phone to link the user by: the client's real number. Chat2Desk writes
 * messengers' users as "[tg] 807892" in client.phone, which is no phone,
 * so that is only kept with the conversation's ids.
 */
static int
client_phone(jv client, jv *phone, jv *x, struct desk_err *e)
{
	jv p, cp;

	*phone = jv_invalid();
	if (desk_in_str(client, "client.", "phone", 0, &p, e) < 0)
		return -1;
	if (desk_in_str(client, "client.", "client_phone", 0, &cp, e) < 0) {
		jv_free(p);
		return -1;
	}
	if (jv_is_valid(cp) && *jv_string_value(cp)) {
		*phone = cp;
		cp = jv_invalid();
	}
	if (jv_is_valid(p) && *jv_string_value(p)) {
		if (jv_string_value(p)[0] == '[') {
			*x = desk_jset(*x, "client_phone", p);
			p = jv_invalid();
		} else if (!jv_is_valid(*phone)) {
			*phone = p;
			p = jv_invalid();
		}
	}
	jv_free(p);
	jv_free(cp);
	return 0;
}

/* Files: attachments[] ({link|url, name, size} or a URL) and photo, pdf... */
static int
c2d_files(jv o, jv *out, struct desk_err *e)
{
	static const char *const single[] = { "photo", "video", "audio", "pdf",
		"document", "file" };
	jv list = jv_array(), a, v;
	char pre[40];
	int r = 0;

	*out = jv_invalid();
	if (desk_in_kind(o, NULL, "attachments", JV_KIND_ARRAY, &a, e) < 0) {
		jv_free(list);
		return -1;
	}
	if (jv_is_valid(a))
		jv_array_foreach(a, i, x) {
			snprintf(pre, sizeof pre, "attachments[%d].", i);
			if (r < 0) {
				jv_free(x);
				continue;
			}
			jv y = jv_object();
			if (jv_get_kind(x) == JV_KIND_STRING && jv_string_length_bytes(
			    jv_copy(x)) > 0)
				y = desk_jset(y, "url", jv_copy(x));
			else if (jv_get_kind(x) != JV_KIND_OBJECT)
				r = desk_in_fail(e, pre, NULL, "must be an object or a URL");
			else {
				/* Chat2Desk's names, then desk's. */
				jv u = jv_object();
				jv link = desk_jget(x, "link");
				u = desk_jset(u, "url", jv_copy(jv_is_valid(link) ? link :
				    desk_jget(x, "url")));
				jv nm = desk_jget(x, "name");
				if (jv_is_valid(nm) || desk_jhas(x, "file_name"))
					u = desk_jset(u, "file_name", jv_copy(jv_is_valid(nm) ?
					    nm : desk_jget(x, "file_name")));
				if (desk_jhas(x, "mime_type"))
					u = desk_jset(u, "mime_type",
					    jv_copy(desk_jget(x, "mime_type")));
				jv sz = desk_jget(x, "size");
				if (jv_is_valid(sz) || desk_jhas(x, "file_size"))
					u = desk_jset(u, "file_size", jv_copy(jv_is_valid(sz) ?
					    sz : desk_jget(x, "file_size")));
				jv_free(y);
				r = desk_in_attachment(u, pre, &y, e);
				jv_free(u);
			}
			if (r == 0)
				list = jv_array_append(list, y);
			else
				jv_free(y);
			jv_free(x);
		}
	for (size_t i = 0; r == 0 && i < sizeof single / sizeof *single; i++) {
		if (desk_in_str(o, NULL, single[i], 0, &v, e) < 0)
			r = -1;
		else if (jv_is_valid(v) && jv_string_length_bytes(jv_copy(v)) > 0)
			list = jv_array_append(list, desk_jset(jv_object(), "url", v));
		else
			jv_free(v);
	}
	if (r < 0) {
		jv_free(list);
		return -1;
	}
	if (jv_array_length(jv_copy(list)) > 0)
		*out = list;
	else
		jv_free(list);
	return 0;
}

/* The conversation's ids, kept for replies (desk-events(7) external). */
static int
c2d_external(jv o, jv *x, jv *ucid, struct desk_err *e)
{
	static const char *const ids[] = { "dialog_id", "request_id",
		"channel_id", "operator_id" };
	jv t;

	*x = jv_object();
	*ucid = jv_invalid();
	if (desk_in_id(o, NULL, "client_id", DESK_IN_REQUIRED | DESK_IN_NUMBER,
	    ucid, e) < 0)
		return -1;
	*x = desk_jset(*x, "client_id", jv_copy(*ucid));
	for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
		if (ext_id(x, o, NULL, ids[i], NULL, e) < 0)
			return -1;
	if (desk_in_str(o, NULL, "transport", 0, &t, e) < 0)
		return -1;
	*x = desk_in_set(*x, "transport", t);
	*x = desk_jset(*x, "chat_id", jv_string_fmt("%s|chat2desk",
	    jv_string_value(*ucid)));
	return 0;
}

/* An inbox hook: one message, one status, or nothing (skipped). */
static int
c2d_inbound(jv ch, const struct desk_http_in *in, jv *events,
    struct desk_skips *skips, struct desk_err *e)
{
	jv o, v, x = jv_invalid(), ucid = jv_invalid(), text = jv_invalid(),
	    id = jv_invalid(), op = jv_invalid(), client, ev = jv_invalid();
	int r = -1;

	if (desk_in_json(in, &o, e) < 0)
		return -1;
	if (jv_get_kind(o) != JV_KIND_OBJECT) {
		desk_in_fail(e, NULL, "body", "must be an object: a Chat2Desk hook");
		goto out;
	}
	if (desk_in_str(o, NULL, "hook_type", 0, &v, e) < 0)
		goto out;
	int inbox = !jv_is_valid(v) || !strcmp(jv_string_value(v), "inbox");
	jv_free(v);
	if (!inbox) {
		/* outbox, outbox_status, dialog events: not messages from users. */
		skips->other++;
		r = 0;
		goto out;
	}
	if (desk_in_str(o, NULL, "type", 1, &v, e) < 0 ||
	    desk_in_str(o, NULL, "text", 0, &text, e) < 0 ||
	    desk_in_id(o, NULL, "operator_id", DESK_IN_NUMBER, &op, e) < 0 ||
	    desk_in_id(o, NULL, "message_id", DESK_IN_REQUIRED | DESK_IN_NUMBER,
	    &id, e) < 0 ||
	    c2d_external(o, &x, &ucid, e) < 0) {
		jv_free(v);
		goto out;
	}
	char kind[32];
	snprintf(kind, sizeof kind, "%s", jv_string_value(v));
	jv_free(v);

	int service = jv_is_valid(text) &&
	    !strcmp(jv_string_value(text), dialog_closed);
	if (!service && is_echo(kind)) {
		skips->echo++;
		r = 0;
		goto out;
	}
	if (!service && strcmp(kind, "from_client")) {
		skips->other++;
		r = 0;
		goto out;
	}
	if (!ours(ch, op)) {
		skips->operator++;
		r = 0;
		goto out;
	}
	if (service) {
		/* Closed in Chat2Desk: the case closes, when the channel wants it. */
		if (jv_get_kind(desk_jget(ch, "service_messages")) != JV_KIND_TRUE) {
			skips->other++;
			r = 0;
			goto out;
		}
		ev = desk_in_event(ch, "status");
		ev = desk_jset(ev, "id", jv_copy(id));
		ev = desk_jset(ev, "user_custom_id", jv_copy(ucid));
		ev = desk_jset_str(ev, "status", "closed");
		ev = desk_jset(ev, "external", x);
		x = jv_invalid();
		*events = jv_array_append(*events, ev);
		ev = jv_invalid();
		r = 0;
		goto out;
	}

	ev = desk_in_event(ch, NULL);
	ev = desk_jset(ev, "id", jv_copy(id));
	ev = desk_jset(ev, "user_custom_id", jv_copy(ucid));
	if (desk_in_kind(o, NULL, "client", JV_KIND_OBJECT, &client, e) < 0)
		goto out;
	if (jv_is_valid(client)) {
		jv phone, name;
		if (client_phone(client, &phone, &x, e) < 0)
			goto out;
		ev = desk_in_set(ev, "phone", phone);
		if (desk_in_str(client, "client.", "name", 0, &name, e) < 0)
			goto out;
		if (jv_is_valid(name) && !*jv_string_value(name)) {
			jv_free(name);
			name = jv_invalid();
		}
		ev = desk_in_set(ev, "name", name);
	}
	jv files;
	if (c2d_files(o, &files, e) < 0)
		goto out;
	if (jv_is_valid(text) && *jv_string_value(text)) {
		ev = desk_jset(ev, "content", text);
		text = jv_invalid();
	} else if (!jv_is_valid(files)) {
		desk_in_fail(e, NULL, "text", "%s, and no attachments",
		    jv_is_valid(text) ? "empty" : "missing");
		goto out;
	}
	ev = desk_in_set(ev, "attachments", files);
	ev = desk_jset(ev, "external", x);
	x = jv_invalid();
	*events = jv_array_append(*events, ev);
	ev = jv_invalid();
	r = 0;
out:
	jv_free(ev);
	jv_free(x);
	jv_free(ucid);
	jv_free(text);
	jv_free(id);
	jv_free(op);
	jv_free(o);
	return r;
}

/* ---- outbound ---- */

/* ---- activation ---- */

const struct desk_connector desk_connector_chat2desk = {
	.name = "chat2desk",
	.auth = c2d_auth,
	.inbound = c2d_inbound,
};
