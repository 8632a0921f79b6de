/*
 * norm.h: the body of the normalisers' libFuzzer targets (norm-*.c): one
 * input is one request body for a channel of connector CONNECTOR, given
 * to desk_receive as serve gives it (no authentication: that is the
 * verify target's). Checks: no crash, leak or undefined behaviour; a
 * refusal is 65 with a reason; every event is an object of the channel,
 * names a user (user_custom_id) or a conversation, and a message has
 * content or attachments, so desk-case takes what serve accepted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "desk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_event(jv ev)
{
	if (jv_get_kind(ev) != JV_KIND_OBJECT)
		abort();
	const char *ch = desk_jstr(ev, "channel"), *type = desk_jstr(ev, "type");
	if (!ch || strcmp(ch, "fz"))
		abort();
	if (!desk_jstr(ev, "user_custom_id") && !desk_jstr(ev, "conversation_id"))
		abort();
	if (!type) {
		/* By length: JSON's "\u0000..." is text that C's strings end at once. */
		jv c = desk_jget(ev, "content");
		jv a = desk_jget(ev, "attachments");
		if ((jv_get_kind(c) != JV_KIND_STRING ||
		    jv_string_length_bytes(jv_copy(c)) == 0) &&
		    (jv_get_kind(a) != JV_KIND_ARRAY ||
		    jv_array_length(jv_copy(a)) == 0))
			abort();
	} else if (strcmp(type, "status"))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first byte picks the channel's settings, the rest is the body. */
	unsigned flags = size ? data[0] : 0;
	jv ch = jv_object();
	ch = desk_jset_str(ch, "name", "fz");
	ch = desk_jset_str(ch, "connector", CONNECTOR);
	if (flags & 1)
		ch = desk_jset_int(ch, "operator_id", 41164);
	if (flags & 2)
		ch = desk_jset(ch, "service_messages", jv_true());
	struct desk_hdr h[] = { { "webhook-id", "msg_fuzz" } };
	struct desk_http_in in = { (const char *)data + (size > 0),
		size ? size - 1 : 0, h, flags & 4 ? 1 : 0, 1800000000 };
	struct desk_skips sk = { 0, 0, 0 };
	struct desk_err e = { 0 };
	jv evs = jv_array();

	if (desk_receive(ch, NULL, &in, &evs, &sk, &e) < 0) {
		if (e.code != DESK_EX_DATA || !e.msg[0])
			abort();
	} else {
		jv_array_foreach(evs, i, ev) {
			check_event(ev);
			jv_free(ev);
		}
	}
	jv_free(evs);
	jv_free(ch);
	return 0;
}
