#define _GNU_SOURCE
/*
 * bench/receiver.c: a loopback HTTP/1.1 keep-alive receiver for the
 * delivery benchmark: answers every request 200 {"result":"ok"}, after
 * LATENCY_MS when given, one thread per connection; counts requests.
 *   receiver PORTFILE [LATENCY_MS]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long latency_ms;

static void *
conn(void *arg)
{
	int fd = (int)(long)arg, one = 1;
	static const char ans[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 15\r\n\r\n{\"result\":\"ok\"}";
	char buf[65536];
	size_t have = 0;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	for (;;) {
		char *end = have ? memmem(buf, have, "\r\n\r\n", 4) : NULL;
		if (!end) {
			if (have == sizeof buf)
				break;
			ssize_t r = read(fd, buf + have, sizeof buf - have);
			if (r <= 0)
				break;
			have += (size_t)r;
			continue;
		}
		size_t head = (size_t)(end - buf) + 4, body = 0;
		char *cl = memmem(buf, head, "ontent-Length:", 14);
		if (!cl)
			cl = memmem(buf, head, "ontent-length:", 14);
		if (cl)
			body = strtoul(cl + 14, NULL, 10);
		if (head + body > sizeof buf)
			break;
		while (have < head + body) {
			ssize_t r = read(fd, buf + have, sizeof buf - have);
			if (r <= 0)
				goto out;
			have += (size_t)r;
		}
		if (latency_ms) {
			struct timespec ts = { latency_ms / 1000, (latency_ms % 1000) * 1000000 };
			nanosleep(&ts, NULL);
		}
		if (write(fd, ans, sizeof ans - 1) < 0)
			break;
		memmove(buf, buf + head + body, have - head - body);
		have -= head + body;
	}
out:
	close(fd);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (argc < 2)
		return 64;
	latency_ms = argc > 2 ? atol(argv[2]) : 0;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 512) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) < 0)
		return 70;
	FILE *f = fopen(argv[1], "w");
	if (!f)
		return 74;
	fprintf(f, "%d\n", ntohs(a.sin_port));
	fclose(f);
	for (;;) {
		int c = accept(s, NULL, NULL);
		pthread_t t;
		if (c < 0)
			continue;
		if (pthread_create(&t, NULL, conn, (void *)(long)c) == 0)
			pthread_detach(t);
		else
			close(c);
	}
}
