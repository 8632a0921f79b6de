/*
 * route.c: what desk-route keeps in the store (desk-rules(5)): the turn of
 * each team's round-robin, the route a message took when a rule matched it
 * (so a replay gets the first answer and changes nothing), and the condition state
 * each time rule was last applied to a case in.
 */
#include <stdio.h>
#include <string.h>

#include "domain/domain.h"

uint64_t
desk_rotation_turn(struct desk_store *st, const char *team, int64_t now)
{
	struct desk_key k;
	uint64_t turn = 0;

	/* Under the writer lock, so two desk-route processes take turns. */
	desk_store_lock(st);
	desk_key_rotation(&k, team);
	if (!desk_hx_get(st, &k, &turn, NULL))
		turn = 0;
	jv rec = desk_jset_str(jv_object(), "rec", "rotation");
	rec = desk_jset_str(rec, "team", team);
	rec = desk_jset_int(rec, "turn", (int64_t)turn + 1);
	rec = desk_jset(rec, "created_at", desk_jtime(now));
	desk_log_add(st, rec);
	jv_free(rec);
	return turn;
}

static void
route_id(uint64_t message_id, char *buf, size_t n)
{
	snprintf(buf, n, "%llu", (unsigned long long)message_id);
}

jv
desk_route_seen(struct desk_store *st, uint64_t message_id)
{
	char id[24];

	route_id(message_id, id, sizeof id);
	return desk_event_seen(st, "route", NULL, id, strlen(id), 0);
}

void
desk_route_save(struct desk_store *st, uint64_t case_id, uint64_t message_id,
    jv route, jv replies, int64_t now)
{
	char id[24];

	route_id(message_id, id, sizeof id);
	desk_store_lock(st);
	jv rec = desk_jset_str(jv_object(), "rec", "route");
	rec = desk_jset_int(rec, "case_id", (int64_t)case_id);
	rec = desk_jset_int(rec, "message_id", (int64_t)message_id);
	rec = desk_jset(rec, "route", route);
	rec = desk_jset(rec, "replies", replies);
	rec = desk_jset_str(rec, "event_id", id);
	rec = desk_jset_str(rec, "event_scope", "route");
	rec = desk_jset(rec, "created_at", desk_jtime(now));
	desk_log_add(st, rec);
	jv_free(rec);
}

int
desk_rulemark_get(struct desk_store *st, const char *rule, uint64_t case_id,
    uint64_t *state)
{
	struct desk_key k;

	desk_key_rulemark(&k, rule, case_id);
	return desk_hx_get(st, &k, state, NULL);
}

void
desk_rulemark_put(struct desk_store *st, const char *rule, uint64_t case_id,
    uint64_t state, int64_t now)
{
	desk_store_lock(st);
	jv rec = desk_jset_str(jv_object(), "rec", "rulemark");
	rec = desk_jset_str(rec, "rule", rule);
	rec = desk_jset_int(rec, "case_id", (int64_t)case_id);
	rec = desk_jset_int(rec, "state", (int64_t)state);
	rec = desk_jset(rec, "created_at", desk_jtime(now));
	desk_log_add(st, rec);
	jv_free(rec);
}
