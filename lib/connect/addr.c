/*
 * addr.c: the SSRF rule, which addresses desk connects to for a channel
 * (REFERENCES §4). Applied to the address being connected (http.c's
 * CURLOPT_OPENSOCKETFUNCTION), never to the URL's text, so that a name
 * resolving to 127.0.0.1, "0x7f.1" or "[::ffff:127.0.0.1]" are all seen
 * for what they are. Apart from http.c so it is tested without libcurl.
 */
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "connect/http.h"

/* IPv4, a host-order address: why it is refused, or NULL. */
static const char *
v4(uint32_t a)
{
	static const struct {
		uint32_t net, mask;
		const char *why;
	} nets[] = {
		{ 0x00000000, 0xff000000, "unspecified" },      /* 0/8 */
		{ 0x0a000000, 0xff000000, "private" },          /* 10/8 */
		{ 0x64400000, 0xffc00000, "private" },          /* 100.64/10, CGNAT */
		{ 0x7f000000, 0xff000000, "loopback" },         /* 127/8 */
		{ 0xa9fe0000, 0xffff0000, "link-local" },       /* 169.254/16 */
		{ 0xac100000, 0xfff00000, "private" },          /* 172.16/12 */
		{ 0xc0000000, 0xffffff00, "reserved" },         /* 192.0.0/24 */
		{ 0xc0000200, 0xffffff00, "reserved" },         /* 192.0.2/24 */
		{ 0xc0a80000, 0xffff0000, "private" },          /* 192.168/16 */
		{ 0xc6120000, 0xfffe0000, "reserved" },         /* 198.18/15 */
		{ 0xc6336400, 0xffffff00, "reserved" },         /* 198.51.100/24 */
		{ 0xcb007100, 0xffffff00, "reserved" },         /* 203.0.113/24 */
		{ 0xe0000000, 0xf0000000, "multicast" },        /* 224/4 */
		{ 0xf0000000, 0xf0000000, "reserved" },         /* 240/4, broadcast */
	};

	for (size_t i = 0; i < sizeof nets / sizeof *nets; i++)
		if ((a & nets[i].mask) == nets[i].net)
			return nets[i].why;
	return NULL;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const char *
v6(const unsigned char *p)
{
	static const unsigned char zero[16];

	if (!memcmp(p, zero, 16))
		return "unspecified";
	if (!memcmp(p, zero, 15) && p[15] == 1)
		return "loopback";
	/* ::ffff:a.b.c.d and the old ::a.b.c.d: an IPv4 address in disguise. */
	if (!memcmp(p, zero, 10) && ((p[10] == 0xff && p[11] == 0xff) ||
	    (p[10] == 0 && p[11] == 0)))
		return "mapped";
	/* 64:ff9b::/96 (NAT64) and 2002::/16 (6to4) reach the IPv4 inside. */
	static const unsigned char nat64[12] = { 0, 0x64, 0xff, 0x9b };
	if (!memcmp(p, nat64, 12) && v4(be32(p + 12)))
		return "mapped";
	if (p[0] == 0x20 && p[1] == 0x02 && v4(be32(p + 2)))
		return "mapped";
	if ((p[0] & 0xfe) == 0xfc)
		return "private";                        /* fc00::/7 */
	if (p[0] == 0xfe && (p[1] & 0xc0) == 0x80)
		return "link-local";                     /* fe80::/10 */
	if (p[0] == 0xfe && (p[1] & 0xc0) == 0xc0)
		return "private";                        /* fec0::/10, site-local */
	if (p[0] == 0xff)
		return "multicast";
	if (p[0] == 0x20 && p[1] == 0x01 && p[2] == 0x0d && p[3] == 0xb8)
		return "reserved";                       /* 2001:db8::/32 */
	if (p[0] == 0x01 && !memcmp(p + 1, zero, 7))
		return "reserved";                       /* 100::/64, discard */
	return NULL;
}

const char *
desk_addr_refused(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)(const void *)sa;
		return v4(ntohl(s->sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)(const void *)sa;
		return v6(s->sin6_addr.s6_addr);
	}
	return "not an internet address";
}
