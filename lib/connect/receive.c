/*
 * receive.c: one inbound request, start to end, as serve and recv both
 * see it: authenticated by its channel's connector before its body is
 * parsed, normalised into events, and each event checked against the
 * limits desk-case applies, so that a body accepted here is one the next
 * stage takes.
 */
#include <stdio.h>
#include <string.h>

#include "connect/connect.h"

int
desk_receive(jv ch, const struct desk_secrets *sec,
    const struct desk_http_in *in, jv *events, struct desk_skips *skips,
    struct desk_err *e)
{
	const char *name = desk_jstr(ch, "connector");
	const struct desk_connector *c = name ? desk_connector(name) : NULL;

	if (!c)
		return desk_err_set(e, DESK_EX_CONFIG, "connector", "channel %s: "
		    "no such connector: %s", desk_jstr(ch, "name") ?
		    desk_jstr(ch, "name") : "?", name ? name : "(none)");
	if (!c->inbound)
		return desk_err_set(e, DESK_EX_CONFIG, "connector", "the %s "
		    "connector receives nothing", c->name);
	if (sec && c->auth && c->auth(ch, sec, in, e) < 0)
		return -1;

	jv evs = jv_array();
	if (c->inbound(ch, in, &evs, skips, e) < 0) {
		jv_free(evs);
		return -1;
	}
	/* All checked before any is handed on: a request is taken whole or not. */
	int n = jv_array_length(jv_copy(evs));
	for (int i = 0; i < n; i++) {
		jv ev = jv_array_get(jv_copy(evs), i);
		int bad = desk_err_sizes(ev, e) < 0;
		jv_free(ev);
		if (bad) {
			/* Name the event too, when the body made several. */
			if (n > 1 && e->field) {
				char f[sizeof e->fieldbuf];
				snprintf(f, sizeof f, "[%d].%s", i, e->field);
				memcpy(e->fieldbuf, f, sizeof f);
				e->field = e->fieldbuf;
			}
			jv_free(evs);
			return -1;
		}
	}
	*events = jv_array_concat(*events, evs);
	return 0;
}
