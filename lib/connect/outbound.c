/*
 * outbound.c: what the connectors' outbound formatters share: a request
 * as a jv object ({"method","url","headers","body"}), the API's address,
 * splitting a long text, and plain text from the seed's markdown subset.
 */
#include <string.h>

#include "connect/connect.h"

jv
desk_out_req(const char *method, const char *url, const char *body, size_t len)
{
	jv r = jv_object();

	r = desk_jset_str(r, "method", method);
	r = desk_jset_str(r, "url", url);
	r = desk_jset(r, "headers", jv_object());
	return desk_jset(r, "body", desk_jstring(body ? body : "", body ? len : 0));
}

jv
desk_out_hdr(jv req, const char *name, const char *value)
{
	jv h = jv_copy(desk_jget(req, "headers"));

	/*
	 * req lets go of its headers first: an object held twice is copied
	 * whole by jv_object_set, once per header added.
	 */
	req = desk_jset(req, "headers", jv_null());
	h = desk_jset_str(h, name, value);
	return desk_jset(req, "headers", h);
}

jv
desk_out_api(jv ch, const char *def, struct desk_err *e)
{
	const char *u = desk_jstr(ch, "api_url");

	if (!u || !*u)
		u = def;
	if (!u || (strncmp(u, "http://", 7) && strncmp(u, "https://", 8))) {
		desk_err_set(e, DESK_EX_CONFIG, "api_url", "channel %s has no "
		    "http(s) api_url", desk_jstr(ch, "name") ? desk_jstr(ch, "name") : "?");
		return jv_invalid();
	}
	size_t n = strlen(u);
	while (n > 8 && u[n - 1] == '/')
		n--;
	return desk_jstring(u, n);
}

/* The length of the UTF-8 sequence that starts with byte c (1 for junk). */
static size_t
seqlen(unsigned char c)
{
	return c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

jv
desk_out_split(jv ch, const char *text, size_t max)
{
	int64_t m;
	jv parts = jv_array();
	size_t len = strlen(text);

	if (desk_jint(ch, "max_text", &m) && m >= 16)
		max = (size_t)m;
	while (len) {
		size_t i = 0, chars = 0, cut = 0;
		while (i < len && chars < max) {
			if (text[i] == ' ' || text[i] == '\n')
				cut = i;
			i += seqlen((unsigned char)text[i]);
			chars++;
		}
		if (i > len)
			i = len;
		/* The rest fits, a word ends at the limit, or one long word: cut there. */
		if (i == len || text[i] == ' ' || text[i] == '\n' || !cut)
			cut = i;
		parts = jv_array_append(parts, desk_jstring(text, cut));
		text += cut;
		len -= cut;
		/* The space or newline it was cut at starts no part. */
		while (len && (*text == ' ' || *text == '\n')) {
			text++;
			len--;
		}
	}
	if (jv_array_length(jv_copy(parts)) == 0)
		parts = jv_array_append(parts, jv_string(""));
	return parts;
}

/* The markup at p: its length and where its text is, or 0. */
static size_t
markup(const char *p, const char **t, size_t *tn, const char **u, size_t *un)
{
	static const char *const marks[] = { "*__", "__", "*", "_" };
	static const char *const ends[] = { "__*", "__", "*", "_" };

	*u = NULL;
	*un = 0;
	if (*p == '[') {
		const char *close = strstr(p, "](");
		const char *end = close ? strchr(close + 2, ')') : NULL;
		if (!close || !end || memchr(p, '\n', (size_t)(end - p)))
			return 0;
		*t = p + 1;
		*tn = (size_t)(close - p - 1);
		*u = close + 2;
		*un = (size_t)(end - close - 2);
		return (size_t)(end - p + 1);
	}
	for (int i = 0; i < 4; i++) {
		size_t n = strlen(marks[i]);
		if (strncmp(p, marks[i], n) || !p[n] || p[n] == ' ')
			continue;
		const char *end = strstr(p + n, ends[i]);
		if (!end || end == p + n || memchr(p, '\n', (size_t)(end - p)))
			continue;
		*t = p + n;
		*tn = (size_t)(end - p - n);
		return (size_t)(end - p) + strlen(ends[i]);
	}
	return 0;
}

jv
desk_out_plain(const char *text)
{
	struct desk_buf b = DESK_BUF_INIT;

	for (const char *p = text; *p;) {
		const char *t, *u;
		size_t tn, un, n = markup(p, &t, &tn, &u, &un);
		if (!n) {
			desk_buf_addc(&b, *p++);
			continue;
		}
		desk_buf_add(&b, t, tn);
		if (u && (un != tn || strncmp(t, u, tn))) {
			desk_buf_adds(&b, " (");
			desk_buf_add(&b, u, un);
			desk_buf_addc(&b, ')');
		}
		p += n;
	}
	jv s = desk_jstring(b.p ? b.p : "", b.len);
	desk_buf_free(&b);
	return s;
}
