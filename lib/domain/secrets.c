/*
 * secrets.c: a channel's secrets, one file each under secrets/ (0600):
 * secrets/CHANNEL.token, CHANNEL.secret and CHANNEL.signkey. Never in the
 * channel's configuration, so channels/ can be shown, diffed and backed up
 * without them; read for one use and wiped after it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "domain/domain.h"

static const char *const kinds[] = { "token", "secret", "signkey" };

static char **
field(struct desk_secrets *s, int kind)
{
	return kind == DESK_SECRET_TOKEN ? &s->token :
	    kind == DESK_SECRET_SECRET ? &s->secret : &s->signkey;
}

static int
rel_path(char *rel, size_t n, const char *channel, int kind)
{
	if (!desk_channel_name_ok(channel) || kind < 0 || kind >= DESK_NSECRETS)
		return -1;
	snprintf(rel, n, "secrets/%s.%s", channel, kinds[kind]);
	return 0;
}

/* A secret file's text up to its first line end: what `echo TOKEN >F` wrote. */
static void
chomp(char *p, size_t *n)
{
	char *nl = memchr(p, '\n', *n);

	if (nl) {
		sodium_memzero(nl, *n - (size_t)(nl - p));
		*n = (size_t)(nl - p);
	}
	if (*n && p[*n - 1] == '\r')
		p[--*n] = '\0';
}

int
desk_secrets_load(struct desk_store *st, const char *channel,
    struct desk_secrets *s, struct desk_err *e)
{
	char rel[128];

	memset(s, 0, sizeof *s);
	for (int k = 0; k < DESK_NSECRETS; k++) {
		size_t n;
		if (rel_path(rel, sizeof rel, channel, k) < 0)
			return desk_err_set(e, DESK_EX_CONFIG, "channel",
			    "%s: not a channel name", channel);
		char *p = desk_store_get(st, rel, &n);
		if (!p) {
			if (errno == ENOENT)
				continue;
			desk_secrets_wipe(s);
			return desk_err_set(e, DESK_EX_IOERR, "channel", "%s/%s: %s",
			    desk_store_root(st), rel, strerror(errno));
		}
		chomp(p, &n);
		if (n == 0 || memchr(p, '\0', n)) {
			sodium_memzero(p, n);
			free(p);
			desk_secrets_wipe(s);
			return desk_err_set(e, DESK_EX_CONFIG, "channel",
			    "%s/%s: empty, or not one line of text",
			    desk_store_root(st), rel);
		}
		*field(s, k) = p;
	}
	return 0;
}

int
desk_secret_put(struct desk_store *st, const char *channel, int kind,
    const char *value, size_t n)
{
	char rel[128];

	if (rel_path(rel, sizeof rel, channel, kind) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (!value)
		return desk_store_unlink(st, rel) < 0 && errno != ENOENT ? -1 :
		    (desk_store_dirty(st), 0);
	return desk_store_put(st, rel, value, n, 0600);
}

void
desk_secrets_wipe(struct desk_secrets *s)
{
	for (int k = 0; k < DESK_NSECRETS; k++) {
		char **p = field(s, k);
		if (*p) {
			sodium_memzero(*p, strlen(*p));
			free(*p);
			*p = NULL;
		}
	}
}
