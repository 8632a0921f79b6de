/*
 * table.c: the connectors desk knows. A new one is a file of its own and a
 * line here.
 */
#include <stdio.h>
#include <string.h>

#include "connect/connect.h"

const struct desk_connector *const desk_connectors[] = {
	&desk_connector_custom,
	&desk_connector_chat2desk,
	&desk_connector_blip,
	NULL
};

const struct desk_connector *
desk_connector(const char *name)
{
	for (size_t i = 0; desk_connectors[i]; i++)
		if (!strcmp(desk_connectors[i]->name, name))
			return desk_connectors[i];
	return NULL;
}

const char *
desk_http_hdr(const struct desk_http_in *in, const char *name)
{
	for (size_t i = 0; i < in->nhdr; i++)
		if (!strcmp(in->hdr[i].name, name))
			return in->hdr[i].value;
	return NULL;
}

const char *
desk_connector_names(char *buf, size_t n)
{
	size_t len = 0, k = 0;

	buf[0] = '\0';
	while (desk_connectors[k])
		k++;
	for (size_t i = 0; i < k && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s",
		    i == 0 ? "" : i == k - 1 ? " or " : ", ", desk_connectors[i]->name);
	return buf;
}
