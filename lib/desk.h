/*
 * desk.h: libdesk, the one header the tools include. The library is in
 * layers, each calling only the ones below it (lib/README):
 *
 *   base/     errors, buffers, JSON, time, keys, options      base/base.h
 *   store/    the storage engine: log, slots, hash index       store/store.h
 *   schema/   record types, slots, index keys; apply, fsck     schema/schema.h
 *   domain/   channels, users, cases, codes, replies           domain/domain.h
 *   rules/    desk-route's rules: parse, evaluate, apply       rules/rules.h
 *   connect/  the connectors: custom, chat2desk, blip          connect/connect.h
 *   loop.c    the per-event loop; filter.c, a desk filter      loop.h
 *
 * lib/ files include their own layer's header, never this one. What each
 * function does with the jv values it is given: see base/base.h.
 */
#ifndef DESK_H
#define DESK_H

#include "base/base.h"
#include "store/store.h"
#include "schema/schema.h"
#include "domain/domain.h"
#include "rules/rules.h"
#include "connect/connect.h"
#include "loop.h"

#endif
