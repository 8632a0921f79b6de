/*
 * http.c: desk's HTTP client on libcurl (http.h). Built so that the
 * delivery engine can drive the same handles with the multi interface:
 * desk_http_setup and desk_http_done know nothing of how the transfer runs.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netdb.h>

#include "connect/http.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

/* curl_global_init once per process, whichever thread gets here first. */
static void
global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The SSRF rule, on the address curl is about to connect to. */
static curl_socket_t
open_socket(void *ctx, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct desk_http *x = ctx;
	const char *why = NULL;

	if (purpose != CURLSOCKTYPE_IPCXN)
		why = "not a connection";
	else if (a->family != AF_INET && a->family != AF_INET6)
		why = "not an internet address";
	else if (!x->allow_private)
		why = desk_addr_refused(&a->addr);
	if (why) {
		char ip[INET6_ADDRSTRLEN] = "?";
		const void *in = a->family == AF_INET ?
		    (const void *)&((struct sockaddr_in *)(void *)&a->addr)->sin_addr :
		    (const void *)&((struct sockaddr_in6 *)(void *)&a->addr)->sin6_addr;
		if (a->family == AF_INET || a->family == AF_INET6)
			inet_ntop(a->family, in, ip, sizeof ip);
		snprintf(x->refused, sizeof x->refused, "%s is %s", ip, why);
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static size_t
on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct desk_http *x = ctx;
	size_t len = size * n;

	if (x->body.len + len > DESK_HTTP_MAX_BODY) {
		x->truncated = 1;
		return 0;       /* ends the transfer: CURLE_WRITE_ERROR */
	}
	desk_buf_add(&x->body, p, len);
	return len;
}

#define SET(opt, val) (rc = rc ? rc : curl_easy_setopt(x->h, opt, val))

int
desk_http_setup(struct desk_http *x, const struct desk_http_req *r,
    struct desk_err *e)
{
	CURLcode rc = CURLE_OK;

	pthread_once(&once, global_init);
	if (global_rc)
		return desk_err_set(e, DESK_EX_SOFTWARE, "url", "curl_global_init: %s",
		    curl_easy_strerror(global_rc));
	x->method = r->method;
	x->url = r->url;
	x->allow_private = r->allow_private;
	/* A handle given back by desk_http_release keeps only its caches. */
	if (x->h)
		curl_easy_reset(x->h);
	else if (!(x->h = curl_easy_init()))
		return desk_err_set(e, DESK_EX_SOFTWARE, "url", "curl_easy_init failed");
	for (size_t i = 0; i < r->nhdr; i++) {
		struct desk_buf b = DESK_BUF_INIT;
		desk_buf_addf(&b, "%s: %s", r->hdr[i].name, r->hdr[i].value);
		struct curl_slist *l = curl_slist_append(x->hdrs, desk_buf_str(&b));
		/* A header may be a token: wipe the copy made to build it. */
		desk_wipe(b.p, b.len);
		desk_buf_free(&b);
		if (!l)
			return desk_err_set(e, DESK_EX_SOFTWARE, "url", "out of memory");
		x->hdrs = l;
	}
	if (r->body) {
		struct curl_slist *l = curl_slist_append(x->hdrs, "Expect:");
		if (!l)
			return desk_err_set(e, DESK_EX_SOFTWARE, "url", "out of memory");
		x->hdrs = l;
	}
	SET(CURLOPT_URL, r->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	/* The SSRF check sees the address of the host, never of a proxy. */
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)DESK_HTTP_CONNECT_MS);
	SET(CURLOPT_TIMEOUT_MS, r->timeout_ms > 0 ? r->timeout_ms : (long)DESK_HTTP_TIMEOUT_MS);
	SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
	SET(CURLOPT_OPENSOCKETDATA, x);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_ERRORBUFFER, x->errbuf);
	SET(CURLOPT_USERAGENT, "desk/" DESK_VERSION);
	SET(CURLOPT_HTTPHEADER, x->hdrs);
	SET(CURLOPT_CUSTOMREQUEST, r->method);
	if (r->body) {
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
		SET(CURLOPT_POSTFIELDS, r->body);
	} else if (!strcmp(r->method, "GET"))
		SET(CURLOPT_HTTPGET, 1L);
	if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT)
		return desk_err_set(e, DESK_EX_CONFIG, "url", "%s: %s", r->url,
		    curl_easy_strerror(rc));
	if (rc)
		return desk_err_set(e, DESK_EX_SOFTWARE, "url", "curl_easy_setopt: %s",
		    curl_easy_strerror(rc));
	return 0;
}

int
desk_http_done(struct desk_http *x, CURLcode rc, struct desk_err *e)
{
	const char *m = x->method, *u = x->url;

	desk_buf_str(&x->body);
	/* Refused and no other address of the host taken instead. */
	if (x->refused[0] && rc != CURLE_OK)
		return desk_err_set(e, DESK_EX_CONFIG, "url", "%s %s: refused: %s "
		    "(--allow-private allows it)", m, u, x->refused);
	if (rc == CURLE_WRITE_ERROR && x->truncated)
		return desk_err_set(e, DESK_EX_UNAVAILABLE, "url", "%s %s: an answer "
		    "over %u bytes", m, u, DESK_HTTP_MAX_BODY);
	switch (rc) {
	case CURLE_OK:
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return desk_err_set(e, DESK_EX_CONFIG, "url", "%s %s: %s", m, u,
		    x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
	default:
		return desk_err_set(e, DESK_EX_UNAVAILABLE, "url", "%s %s: %s", m, u,
		    x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
	}
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->status >= 200 && x->status < 300)
		return 0;
	if (x->status >= 300 && x->status < 400)
		return desk_err_set(e, DESK_EX_CONFIG, "url", "%s %s: answered %ld, "
		    "a redirect (desk follows none)", m, u, x->status);
	if (x->status >= 400 && x->status < 500)
		return desk_err_set(e, DESK_EX_CONFIG, "url", "%s %s: answered %ld",
		    m, u, x->status);
	return desk_err_set(e, DESK_EX_UNAVAILABLE, "url", "%s %s: answered %ld",
	    m, u, x->status);
}

int
desk_http_run(struct desk_http *x, const struct desk_http_req *r,
    struct desk_err *e)
{
	if (desk_http_setup(x, r, e) < 0)
		return -1;
	return desk_http_done(x, curl_easy_perform(x->h), e);
}

CURL *
desk_http_release(struct desk_http *x)
{
	CURL *h = x->h;

	x->h = NULL;
	desk_http_free(x);
	return h;
}

void
desk_http_free(struct desk_http *x)
{
	if (x->h)
		curl_easy_cleanup(x->h);
	/* The header list may hold a token. */
	for (struct curl_slist *l = x->hdrs; l; l = l->next)
		desk_wipe(l->data, strlen(l->data));
	curl_slist_free_all(x->hdrs);
	desk_buf_free(&x->body);
	memset(x, 0, sizeof *x);
}

int
desk_http_url_check(const char *url, int allow_private, struct desk_err *e)
{
	CURLU *u = curl_url();
	char *host = NULL, *scheme = NULL;
	int rc = -1;

	pthread_once(&once, global_init);
	if (!u)
		return desk_err_set(e, DESK_EX_SOFTWARE, "url", "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) ||
	    (strcmp(scheme, "http") && strcmp(scheme, "https"))) {
		desk_err_set(e, DESK_EX_CONFIG, "url", "%s: not an http(s) URL", url);
		goto out;
	}
	/* curl gives an IPv6 literal in brackets; getaddrinfo wants it bare. */
	char *h = host;
	size_t hl = strlen(h);
	if (h[0] == '[' && hl > 2 && h[hl - 1] == ']') {
		h[hl - 1] = '\0';
		h++;
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	int g = getaddrinfo(h, NULL, &hints, &ai);
	if (g) {
		desk_err_set(e, DESK_EX_UNAVAILABLE, "url", "%s: %s does not resolve: %s",
		    url, h, gai_strerror(g));
		goto out;
	}
	rc = 0;
	for (struct addrinfo *a = ai; a && !allow_private; a = a->ai_next) {
		const char *why = desk_addr_refused(a->ai_addr);
		if (why) {
			char ip[INET6_ADDRSTRLEN] = "?";
			const void *in = a->ai_family == AF_INET ?
			    (const void *)&((struct sockaddr_in *)(void *)a->ai_addr)->sin_addr :
			    (const void *)&((struct sockaddr_in6 *)(void *)a->ai_addr)->sin6_addr;
			inet_ntop(a->ai_family, in, ip, sizeof ip);
			rc = desk_err_set(e, DESK_EX_CONFIG, "url", "%s: refused: %s is %s "
			    "(--allow-private allows it)", url, ip, why);
			break;
		}
	}
	freeaddrinfo(ai);
out:
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}
