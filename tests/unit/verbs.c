/*
 * Unit tests for the domain's verbs: each checks its own input and refuses
 * with a struct desk_err (status, field, reason) instead of trusting its
 * caller or dying, and writes nothing when it refuses.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "desk.h"
#include "tap.h"
#include "scratch.h"

static jv
parse(const char *s)
{
	return desk_json_parse_all(s, strlen(s));
}

static void
refused(int r, const struct desk_err *e, int code, const char *field,
    const char *what)
{
	ok(r < 0 && e->code == code, "%s: refused with %d (got %d, %s)", what,
	    code, r < 0 ? e->code : 0, r < 0 ? e->msg : "accepted");
	is_str(r < 0 ? e->field : NULL, field, "%s: the field is %s", what, field);
}

/* desk_reply_add of the reply in json, refused (65) for field. */
static void
reply(struct desk_store *st, const char *json, const char *field,
    const char *what)
{
	struct desk_err e;
	jv r = parse(json);
	jv o = desk_reply_add(st, r, 0, &e);

	refused(jv_is_valid(o) ? 0 : -1, &e, DESK_EX_DATA, field, what);
	jv_free(o);
	jv_free(r);
}

/* desk_case_set of case 1 with the changes in json, refused. */
static void
set(struct desk_store *st, const char *json, int code, const char *field,
    const char *what)
{
	struct desk_err e;
	jv ch = parse(json);

	refused(desk_case_set(st, 1, ch, jv_invalid(), 0, &e), &e, code, field,
	    what);
	jv_free(ch);
}

int
main(void)
{
	char dir[] = "/tmp/desk-unit-verbs.XXXXXX";
	struct desk_err e;
	struct desk_received r;

	struct desk_store *st = scratch_store(dir);


	/* desk_reply_add does not trust its caller to have checked. */
	reply(st, "{\"case_id\":1,\"content\":5}", "content",
	    "a reply whose content is a number");
	reply(st, "{\"content\":\"hi\"}", "case_id", "a reply without a case");
	reply(st, "{\"case_id\":1,\"content\":\"x\",\"via\":\"rule\"}", "rule",
	    "a rule reply that names no rule");

	/* desk_case_set checks its changes before it looks for the case. */
	set(st, "{\"status\":\"bogus\"}", DESK_EX_DATA, "status",
	    "case set to a status that is none");
	set(st, "{\"assignee\":5}", DESK_EX_DATA, "assignee",
	    "case set to an assignee that is a number");
	set(st, "{\"team\":\"t\"}", DESK_EX_NO, "case_id", "case set on no case");
	refused(desk_case_merge(st, 1, 2, 0, &e) ? 0 : -1, &e, DESK_EX_NO,
	    "case_id", "case merge of no case");

	/* The inbound events and the code binding, refused alike. */
	jv ev = parse("{\"channel\":\"nope\",\"user_custom_id\":\"u\",\"content\":\"x\"}");
	refused(desk_message_receive(st, ev, &r, &e), &e, DESK_EX_CONFIG,
	    "channel", "a message on an unknown channel");
	jv_free(ev);
	jv o;
	ev = parse("{\"case_id\":\"x\"}");
	o = desk_case_status(st, ev, &e);
	refused(jv_is_valid(o) ? 0 : -1, &e, DESK_EX_DATA, "case_id",
	    "a status event whose case_id is a string");
	jv_free(o);
	jv_free(ev);
	jv b = parse("{\"email\":5}");
	refused(desk_code_bind_check(st, b, &e), &e, DESK_EX_USAGE, "email",
	    "a code bound to an email that is a number");
	jv_free(b);
	b = parse("{\"channel\":\"nope\",\"user_custom_id\":\"u\"}");
	o = desk_code_bind(st, b, 60, &e);
	refused(jv_is_valid(o) ? 0 : -1, &e, DESK_EX_CONFIG, "channel",
	    "a code bound on an unknown channel");
	jv_free(o);
	jv_free(b);

	ok(desk_slot_end(st, DESK_T_MESSAGE) <= 1 && desk_slot_end(st, DESK_T_CODE) <= 1,
	    "nothing refused was written");
	desk_store_commit(st);
	desk_store_close(st);
	return done_testing_in(dir);
}
