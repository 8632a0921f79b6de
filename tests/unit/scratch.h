/*
 * scratch.h: a scratch store for the unit tests that need one, made one
 * way for all of them. done_testing_in (tap.h) removes it at the end.
 */
#include <stdio.h>
#include <stdlib.h>

#include "desk.h"

/*
 * A new store with desk's schema in DIR/store, DIR a mkdtemp template
 * (filled in here). A test that cannot make DIR ends here, with 1;
 * desk_open dies on the store's own errors. The name is kept in a static
 * buffer: the store directory is remembered by pointer.
 */
static inline struct desk_store *
scratch_store(char *dir)
{
	static char store[128];

	if (!mkdtemp(dir)) {
		perror(dir);
		exit(1);
	}
	snprintf(store, sizeof store, "%s/store", dir);
	desk_set_store_dir(store);
	return desk_open(DESK_ST_CREATE);
}

/* The same, with the writer lock taken: for a test that adds records. */
static inline struct desk_store *
scratch_writer(char *dir)
{
	struct desk_store *st = scratch_store(dir);

	desk_store_lock(st);
	return st;
}
