/*
 * http.h: desk's HTTP client, on libcurl (lib/README, connect). One request
 * is a struct desk_http around a curl easy handle: desk_http_setup builds
 * it (method, URL, headers, body, timeouts, no redirects, http and https
 * only, no proxy, the SSRF check at connect time), desk_http_done maps what
 * came of it to a struct desk_err. desk_http_run does both with
 * curl_easy_perform for the activation checks; the delivery engine adds
 * the same handles to a curl multi handle and calls desk_http_done on each
 * as it completes.
 */
#ifndef DESK_CONNECT_HTTP_H
#define DESK_CONNECT_HTTP_H

#include <netinet/in.h>
#include <curl/curl.h>

#include "connect/connect.h"

#define DESK_HTTP_TIMEOUT_MS 15000       /* a whole request */
#define DESK_HTTP_CONNECT_MS 5000
#define DESK_HTTP_MAX_BODY (1u << 20)    /* an answer's body kept */

struct desk_http_req {
	const char *method;               /* GET, POST, PUT, DELETE */
	const char *url;
	const struct desk_hdr *hdr;       /* "Name", "value"; sent as given */
	size_t nhdr;
	const char *body;                 /* or NULL */
	size_t len;
	long timeout_ms;                  /* 0: DESK_HTTP_TIMEOUT_MS */
	int allow_private;                /* the channel allows private addresses */
};

/*
 * One request and its answer. Zero it before desk_http_setup, or zero it
 * but for h: a handle desk_http_release gave back, to be reset and reused.
 */
struct desk_http {
	CURL *h;
	struct curl_slist *hdrs;
	struct desk_buf body;             /* the answer's body, NUL-terminated */
	long status;                      /* the HTTP status, 0 for none */
	int allow_private;
	int truncated;                    /* the body was over DESK_HTTP_MAX_BODY */
	char refused[INET6_ADDRSTRLEN + 40];   /* the address refused, and why */
	char errbuf[CURL_ERROR_SIZE];
	const char *method, *url;         /* borrowed from the request, for messages */
};

/* Builds x's easy handle for r (borrowed until x is done): 0, or -1 with e (70, 78). */
int desk_http_setup(struct desk_http *x, const struct desk_http_req *r,
    struct desk_err *e);
/*
 * What came of x, given curl's result rc: 0 for a 2xx answer; otherwise -1
 * with e (field "url"): 78 for an address the SSRF rule refuses, a bad URL,
 * a redirect (3xx: never followed) or a 4xx answer; 69 when the host does
 * not resolve, connect or answer in time, or answers 5xx. x->status and
 * x->body stay for the caller to look at.
 */
int desk_http_done(struct desk_http *x, CURLcode rc, struct desk_err *e);
/* desk_http_setup, curl_easy_perform, desk_http_done. */
int desk_http_run(struct desk_http *x, const struct desk_http_req *r,
    struct desk_err *e);
/*
 * desk_http_free, but x's easy handle (in no multi handle by now) is given
 * back, not cleaned up: reused, it skips building one from nothing.
 */
CURL *desk_http_release(struct desk_http *x);
void desk_http_free(struct desk_http *x);

/*
 * The SSRF rule on every address url's host resolves to now, for a check
 * before any request (activation): 0, or -1 with e (field "url"): 78 for a
 * URL that is not http(s) or a host with a refused address, 69 for a name
 * that does not resolve. Connecting still checks the address it connects to.
 */
int desk_http_url_check(const char *url, int allow_private, struct desk_err *e);
/*
 * The SSRF rule (REFERENCES §4) on one address: NULL when desk may connect
 * to it, else why not ("loopback", "private", "link-local", "mapped",
 * "reserved", ...). Only AF_INET and AF_INET6 can pass.
 */
const char *desk_addr_refused(const struct sockaddr *sa);

#endif
