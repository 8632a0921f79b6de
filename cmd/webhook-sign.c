/*
 * webhook-sign.c: desk-webhook sign and verify, Standard Webhooks from the
 * shell (lib/connect/sign.c does the work): for integrators' receivers and
 * CI. The body is stdin, byte for byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "webhook.h"

/* All of fd, malloc'd and NUL-terminated; dies naming what on error. */
static char *
slurp(int fd, size_t *n, const char *what)
{
	struct desk_buf b = DESK_BUF_INIT;
	char chunk[65536];

	desk_input_taken();
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			desk_die_errno(DESK_EX_IOERR, "%s", what);
		if (r == 0)
			break;
		desk_buf_add(&b, chunk, (size_t)r);
	}
	desk_wipe(chunk, sizeof chunk);
	*n = b.len;
	return desk_buf_str(&b);
}

/* The key in file (its first line): malloc'd; wipe it after use. */
static char *
key_file(const char *file)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	size_t n;

	if (fd < 0)
		desk_die_errno(DESK_EX_CONFIG, "%s", file);
	char *k = slurp(fd, &n, file);
	close(fd);
	k[strcspn(k, "\r\n")] = '\0';
	if (!*k)
		desk_die(DESK_EX_CONFIG, "%s: no key in it", file);
	return k;
}

static void
key_free(char *k)
{
	desk_wipe(k, strlen(k));
	free(k);
}

int
webhook_sign(int argc, char **argv)
{
	const char *file = NULL, *id = NULL;
	int64_t ts = desk_now();
	struct desk_buf sig = DESK_BUF_INIT;
	struct desk_err e;
	int c;

	while ((c = desk_getopt(argc, argv)) != -1) {
		switch (c) {
		case 'k':
			file = optarg;
			break;
		case 'i':
			id = optarg;
			break;
		case 't':
			if (!desk_time_parse(optarg, &ts))
				desk_die(DESK_EX_USAGE, "--timestamp: not a time: %s", optarg);
			break;
		}
	}
	if (!file || !id || !*id || optind != argc)
		desk_die(DESK_EX_USAGE, "sign: --secret-file FILE --id ID, the body on stdin");
	char *key = key_file(file);
	size_t n;
	char *body = slurp(0, &n, "stdin");
	int r = desk_sig_sign(key, id, ts, body, n, &sig, &e);
	key_free(key);
	free(body);
	if (r < 0)
		desk_die(e.code, "%s: %s", file, e.msg);
	printf("webhook-id: %s\nwebhook-timestamp: %lld\nwebhook-signature: %s\n",
	    id, (long long)ts, desk_buf_str(&sig));
	desk_buf_free(&sig);
	if (fflush(stdout) != 0 || ferror(stdout))
		desk_die_errno(DESK_EX_IOERR, "stdout");
	return DESK_EX_OK;
}

/* The value of a "name: value" line of text for name, or NULL (malloc'd). */
static char *
header_of(const char *text, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		if (strncasecmp(p, name, nl) || p[nl] != ':')
			continue;
		const char *v = p + nl + 1;
		v += strspn(v, " \t");
		size_t len = strcspn(v, "\r\n");
		char *out = desk_xmalloc(len + 1);
		memcpy(out, v, len);
		out[len] = '\0';
		return out;
	}
	return NULL;
}

int
webhook_verify(int argc, char **argv)
{
	static const char *const names[] = { "webhook-id", "webhook-timestamp",
		"webhook-signature" };
	const char *file = NULL, *hfile = NULL;
	char *h[3] = { NULL, NULL, NULL };
	struct desk_err e;
	int c;

	while ((c = desk_getopt(argc, argv)) != -1) {
		switch (c) {
		case 'k':
			file = optarg;
			break;
		case 'H':
			hfile = optarg;
			break;
		case 'i': case 't': case 'g':
			free(h[c == 'i' ? 0 : c == 't' ? 1 : 2]);
			h[c == 'i' ? 0 : c == 't' ? 1 : 2] = desk_xstrdup(optarg);
			break;
		}
	}
	if (!file || optind != argc)
		desk_die(DESK_EX_USAGE, "verify: --secret-file FILE and --headers FILE "
		    "or --id, --timestamp, --signature; the body on stdin");
	if (hfile) {
		int fd = open(hfile, O_RDONLY | O_CLOEXEC);
		size_t n;
		if (fd < 0)
			desk_die_errno(DESK_EX_USAGE, "%s", hfile);
		char *text = slurp(fd, &n, hfile);
		close(fd);
		for (int i = 0; i < 3; i++)
			if (!h[i])
				h[i] = header_of(text, names[i]);
		free(text);
	}
	char *key = key_file(file);
	size_t n;
	char *body = slurp(0, &n, "stdin");
	int r = desk_sig_verify(key, h[0], h[1], h[2], body, n, desk_now(), &e);
	key_free(key);
	free(body);
	for (int i = 0; i < 3; i++)
		free(h[i]);
	if (r < 0)
		desk_die(e.code, "verify: %s%s%s", e.field ? e.field : "",
		    e.field ? ": " : "", e.msg);
	return DESK_EX_OK;
}

const struct desk_opt webhook_sign_opts[] = {
	{ 'k', "secret-file", "FILE", "the whsec_ or whsk_ key, the first line "
	    "of FILE", DESK_V_FILE, 0 },
	{ 'i', "id", "ID", "the webhook-id", NULL, 0 },
	{ 't', "timestamp", "T", "the webhook-timestamp (RFC 3339 or Unix "
	    "seconds; now)", NULL, 0 },
	DESK_OPT_END
};

const struct desk_opt webhook_verify_opts[] = {
	{ 'k', "secret-file", "FILE", "the whsec_ secret or whpk_ public key, "
	    "the first line of FILE", DESK_V_FILE, 0 },
	{ 'H', "headers", "FILE", "the request's headers, one \"name: value\" "
	    "a line", DESK_V_FILE, 0 },
	{ 'i', "id", "ID", "the webhook-id", NULL, 0 },
	{ 't', "timestamp", "T", "the webhook-timestamp", NULL, 0 },
	{ 'g', "signature", "SIG", "the webhook-signature", NULL, 0 },
	DESK_OPT_END
};
