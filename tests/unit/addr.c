/*
 * Unit tests for lib/connect/addr.c, the SSRF rule: which addresses desk
 * refuses to connect to for a channel, and why.
 */
#include <arpa/inet.h>
#include <string.h>

#include "desk.h"
#include "connect/http.h"
#include "tap.h"

/* The reason for text (an IPv4 or IPv6 address), or "" when allowed. */
static const char *
why(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof ss);
	if (strchr(text, ':')) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
		s->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, text, &s->sin6_addr) != 1)
			return "(bad test address)";
	} else {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;
		s->sin_family = AF_INET;
		/* inet_aton: the shorthand forms (0x7f.1) a resolver takes too. */
		if (inet_aton(text, &s->sin_addr) != 1)
			return "(bad test address)";
	}
	const char *w = desk_addr_refused((struct sockaddr *)&ss);
	return w ? w : "";
}

int
main(void)
{
	static const char *const cases[][2] = {
		{ "127.0.0.1", "loopback" }, { "0x7f.1", "loopback" },
		{ "127.255.255.254", "loopback" }, { "2130706433", "loopback" },
		{ "10.0.0.1", "private" }, { "172.16.0.1", "private" },
		{ "172.31.255.255", "private" }, { "192.168.1.1", "private" },
		{ "100.64.0.1", "private" }, { "169.254.169.254", "link-local" },
		{ "0.0.0.0", "unspecified" }, { "224.0.0.1", "multicast" },
		{ "255.255.255.255", "reserved" }, { "192.0.2.1", "reserved" },
		{ "::1", "loopback" }, { "::", "unspecified" },
		{ "::ffff:127.0.0.1", "mapped" }, { "::ffff:8.8.8.8", "mapped" },
		{ "::127.0.0.1", "mapped" }, { "64:ff9b::a00:1", "mapped" },
		{ "2002:7f00:1::", "mapped" }, { "fc00::1", "private" },
		{ "fd12:3456::1", "private" }, { "fe80::1", "link-local" },
		{ "ff02::1", "multicast" }, { "2001:db8::1", "reserved" },
		/* public: allowed */
		{ "8.8.8.8", "" }, { "172.32.0.1", "" }, { "172.15.255.255", "" },
		{ "100.128.0.1", "" }, { "169.253.0.1", "" }, { "93.184.216.34", "" },
		{ "2606:4700::1111", "" }, { "64:ff9b::808:808", "" },
		{ "2002:808:808::", "" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		is_str(why(cases[i][0]), cases[i][1], "%s: %s", cases[i][0],
		    *cases[i][1] ? cases[i][1] : "allowed");
	struct sockaddr un = { .sa_family = AF_UNIX };
	ok(desk_addr_refused(&un) != NULL, "a Unix socket address is refused");
	return done_testing();
}
