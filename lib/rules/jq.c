/*
 * jq.c: jq conditions. libjq 1.6's jq_compile costs ~25 ms (it recompiles
 * its builtins), so a program is compiled once per process and only when a
 * rule that uses it is first evaluated; with an empty environment, so that
 * $ENV is {} and no ~/.jq is loaded (jq reads it from $HOME), and with env
 * defined as {} too, so a rule cannot read the process's environment.
 *
 * Each evaluation has DESK_JQ_MS milliseconds: a timer (SIGALRM) halts the
 * program with jq_halt, which libjq 1.6's interpreter checks before every
 * instruction; jq_halt only sets fields, so it may be called from the
 * handler. A program halted so, or one that fails, is false.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <jq.h>

#include "rules/rules.h"
#include "rules/internal.h"

extern char **environ;

#define DESK_JQ_MS 100

/* The program running now, for the timer's handler. */
static jq_state *volatile running;

static void
on_alarm(int sig)
{
	jq_state *jq = running;

	(void)sig;
	if (jq && !jq_halted(jq))
		jq_halt(jq, jv_invalid(), jv_invalid());
}

static void
timer_arm(long ms)
{
	struct itimerval it = { { 0, 0 }, { ms / 1000, (ms % 1000) * 1000 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

struct jqs {
	jq_state **st;       /* one per program, NULL until first used */
	int *bad;            /* compiled and failed: false from then on */
};

static void
quiet(void *ctx, jv msg)
{
	(void)ctx;
	jv_free(msg);
}

static jq_state *
compile(const char *prog)
{
	static char *none[] = { NULL };
	struct desk_buf b = DESK_BUF_INIT;
	jq_state *jq = jq_init();
	char **saved = environ;

	if (!jq)
		return NULL;
	jq_set_error_cb(jq, quiet, NULL);
	desk_buf_adds(&b, "def env: {}; ");
	desk_buf_adds(&b, prog);
	environ = none;
	int ok = jq_compile(jq, desk_buf_str(&b));
	environ = saved;
	desk_buf_free(&b);
	if (!ok)
		jq_teardown(&jq);
	return jq;
}

/* Whether prog compiles, for desk-route check; the message in msg. */
int
desk_rules_jq_check(const char *prog)
{
	jq_state *jq = compile(prog);

	if (!jq)
		return 0;
	jq_teardown(&jq);
	return 1;
}

int
desk_rules_jq(struct desk_route *x, int n)
{
	struct desk_rules *r = x->r;
	struct jqs *s = r->jqstate;

	if (!s) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_alarm;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, NULL);
		s = r->jqstate = desk_xcalloc(1, sizeof *s);
		s->st = desk_xcalloc(r->njq, sizeof *s->st);
		s->bad = desk_xcalloc(r->njq, sizeof *s->bad);
	}
	if (s->bad[n])
		return 0;
	if (!s->st[n] && !(s->st[n] = compile(r->jq[n]))) {
		s->bad[n] = 1;
		return 0;
	}
	jv in = desk_jset(jv_object(), "event", jv_copy(x->ev));
	in = desk_jset(in, "case", jv_copy(desk_route_case_full(x)));
	in = desk_jset(in, "user", jv_copy(desk_route_user(x)));
	jq_start(s->st[n], in, 0);
	running = s->st[n];
	timer_arm(DESK_JQ_MS);
	jv v = jq_next(s->st[n]);
	timer_arm(0);
	running = NULL;
	jv_kind k = jv_get_kind(v);
	jv_free(v);
	/* Truthy, as jq's own select: anything but false, null and no output. */
	return k != JV_KIND_INVALID && k != JV_KIND_FALSE && k != JV_KIND_NULL;
}

void
desk_rules_jq_free(struct desk_rules *r)
{
	struct jqs *s = r->jqstate;

	if (!s)
		return;
	for (size_t i = 0; i < r->njq; i++)
		if (s->st[i])
			jq_teardown(&s->st[i]);
	free(s->st);
	free(s->bad);
	free(s);
	r->jqstate = NULL;
}
