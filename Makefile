# desk: small Unix filters for a help desk's custom channels.
#
#   make            build everything into $(O)/
#   make check      build, then run the test suite
#   make check-san  the same suite against an ASan+UBSan build (in build-san/)
#   make fuzz       the libFuzzer targets (tests/fuzz/), FUZZ_TIME seconds each
#   make demo       run the main job on a throw-away store
#   make bench      the figures of bench/run, side by side with jq (not a test)
#   make install    PREFIX=/usr/local DESTDIR=
#
# The first run installs missing Debian -dev packages (scripts/deps).

VERSION = 0.1.0

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# Where Debian's zsh looks: vendor-completions for the distribution's own
# prefix, site-functions for /usr/local (and any other).
ZSHCOMPDIR ?= $(if $(filter /usr,$(PREFIX)),$(PREFIX)/share/zsh/vendor-completions,$(PREFIX)/share/zsh/site-functions)
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
EXAMPLESDIR ?= $(PREFIX)/share/doc/desk/examples

O ?= build
CC ?= cc
CFLAGS ?= -O2 -g
SAN ?=

# Appended after the user's CFLAGS so they cannot be switched off.
WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wpointer-arith -Wformat=2 -Wno-format-nonliteral
DESK_CFLAGS = -std=c11 -D_GNU_SOURCE -Ilib -DDESK_VERSION='"$(VERSION)"' \
	$(WARN) $(SODIUM_CFLAGS)
# -fsanitize=undefined leaves out the float checks (GCC's "non-default"
# ones): a double cast to an integer it does not fit is undefined too.
SANITIZE = address,undefined,float-cast-overflow,float-divide-by-zero
ifneq ($(SAN),)
DESK_CFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
SANLD = -fsanitize=$(SANITIZE)
endif

# Recursive (=) so that pkg-config runs only after scripts/deps installed it.
SODIUM_CFLAGS = $(shell pkg-config --cflags libsodium)
SODIUM_LIBS = $(shell pkg-config --libs libsodium)
CURL_LIBS = $(shell pkg-config --libs libcurl)
MHD_LIBS = $(shell pkg-config --libs libmicrohttpd)
JQ_LIBS = -ljq

# -lm: json.c calls floor(), which only an optimised build inlines.
BASE_LIBS = $(JQ_LIBS) $(SODIUM_LIBS) -lm
LDFLAGS_ALL = $(LDFLAGS) $(SANLD) -Wl,--as-needed

# libFuzzer targets (tests/fuzz/*.c), built with clang into $(FO)/ against
# the library sources wherever they sit under lib/.
FUZZ_CC ?= clang
FUZZ_CFLAGS ?= -O1 -g
FUZZ_TIME ?= 60
FO = build-fuzz
FUZZ_SAN = -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_INC = $(addprefix -I,$(sort $(dir $(wildcard lib/*/*.h))))
FUZZ_LIBSRC = $(wildcard lib/*.c lib/*/*.c)
FUZZ_LIBOBJ = $(FUZZ_LIBSRC:%.c=$(FO)/%.o)
FUZZ_TARGETS = $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/*.c))
FUZZ_BINS = $(FUZZ_TARGETS:%=$(FO)/bin/fuzz-%)
# -close_fd_mask=3: what the code under test prints is not libFuzzer's report.
FUZZ_FLAGS = -close_fd_mask=3 -dict=tests/fuzz/json.dict

TOOLS = $(patsubst cmd/%.c,%,$(wildcard cmd/desk-*.c))
LIBSRC = $(wildcard lib/*/*.c lib/*.c)
LIBOBJ = $(LIBSRC:%.c=$(O)/%.o)
UNITSRC = $(wildcard tests/unit/*.c)
UNITBIN = $(UNITSRC:tests/unit/%.c=$(O)/unit/%)
BINS = $(TOOLS:%=$(O)/bin/%)
MAN = $(wildcard man/*.[1-8])
# The deployment files (examples/*/...) and the rules of the demo.
EXAMPLES = $(wildcard examples/* examples/*/*)

all: $(BINS)

$(O)/.deps: scripts/deps
	@mkdir -p $(O)
	@sh scripts/deps
	@touch $@

# The dependencies name each object both ways: a build dir given as an
# absolute path (make install from a test) and as a relative one then
# read the same .d files.
DEPFLAGS = -MMD -MP -MT $@ -MT $(abspath $@)

$(O)/lib/%.o: lib/%.c Makefile | $(O)/.deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DESK_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(O)/cmd/%.o: cmd/%.c Makefile | $(O)/.deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DESK_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(O)/libdesk.a: $(LIBOBJ)
	rm -f $@
	$(AR) rcs $@ $(LIBOBJ)

$(filter-out $(O)/bin/desk-webhook,$(BINS)): $(O)/bin/%: $(O)/cmd/%.o $(O)/libdesk.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS_ALL) -o $@ $< $(O)/libdesk.a $(BASE_LIBS)

# desk-webhook is one file per subcommand: cmd/desk-webhook.c and cmd/webhook-*.c.
WEBHOOK_OBJ = $(patsubst cmd/%.c,$(O)/cmd/%.o,$(wildcard cmd/webhook-*.c))
$(O)/bin/desk-webhook: $(O)/cmd/desk-webhook.o $(WEBHOOK_OBJ) $(O)/libdesk.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS_ALL) -o $@ $< $(WEBHOOK_OBJ) $(O)/libdesk.a \
		$(BASE_LIBS) $(CURL_LIBS) $(MHD_LIBS) -lpthread

# Each is one file and the headers they share (tap.h, scratch.h).
$(O)/unit/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(O)/libdesk.a Makefile | $(O)/.deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DESK_CFLAGS) $(LDFLAGS_ALL) -o $@ $< $(O)/libdesk.a \
		$(BASE_LIBS) $(CURL_LIBS)

$(FO)/lib/%.o: lib/%.c Makefile | $(O)/.deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DESK_CFLAGS) $(FUZZ_INC) $(FUZZ_SAN) \
		-fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FO)/bin/fuzz-%: tests/fuzz/%.c $(FUZZ_LIBOBJ) Makefile | $(O)/.deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DESK_CFLAGS) $(FUZZ_INC) $(FUZZ_SAN) \
		-fsanitize=fuzzer -MMD -MP -o $@ $< $(FUZZ_LIBOBJ) $(BASE_LIBS) \
		$(CURL_LIBS) $(MHD_LIBS) -lpthread

fuzz-bins: $(FUZZ_BINS)
.SECONDARY: $(FUZZ_LIBOBJ)

# Each target from its seeds, copied to a scratch corpus that keeps what a
# run finds (the committed seeds stay as they are); crashes go to
# $(FO)/artifacts/, the log to $(FO)/fuzz-TARGET.log.
fuzz: fuzz-bins
	@mkdir -p $(FO)/artifacts
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FO)/corpus/$$t && cp tests/fuzz/corpus/$$t/* $(FO)/corpus/$$t/ && \
		echo "fuzz-$$t: $(FUZZ_TIME) s, log in $(FO)/fuzz-$$t.log" && \
		$(FO)/bin/fuzz-$$t $(FUZZ_FLAGS) -max_total_time=$(FUZZ_TIME) \
			-print_final_stats=1 -artifact_prefix=$(FO)/artifacts/$$t- \
			$(FO)/corpus/$$t > $(FO)/fuzz-$$t.log 2>&1 || \
			{ tail -n 40 $(FO)/fuzz-$$t.log; exit 1; }; \
		grep -E '^Done [0-9]+ runs' $(FO)/fuzz-$$t.log; \
	done

# The fuzz targets are smoke-tested too (t0950) when clang is there, which
# scripts/deps sees to: asked when the recipe runs, after it did.
# The suite's line is marked + (recursive): t0001 runs make itself, and
# without the jobserver handed down, under make -j2 check that make warns
# "jobserver unavailable", which t0001 counts as a warning of the build.
check: all $(UNITBIN)
	@if command -v $(FUZZ_CC) > /dev/null 2>&1; then \
		$(MAKE) --no-print-directory O=$(O) fuzz-bins; fi
	+@DESK_BIN=$(CURDIR)/$(O)/bin DESK_UNIT=$(CURDIR)/$(O)/unit \
		DESK_FUZZ=$$(command -v $(FUZZ_CC) > /dev/null 2>&1 && echo $(CURDIR)/$(FO)/bin) \
		DESK_SAN=$(SAN) sh tests/run

check-san:
	@$(MAKE) --no-print-directory O=build-san SAN=1 check

demo: all
	@DESK_BIN=$(CURDIR)/$(O)/bin sh scripts/demo

# bench/run runs bench/send, bench/recv and bench/serve too, prints the
# table and writes bench/results.json; its cache of big stores is
# $(O)/bench-cache (BENCH_CACHE).
bench: all
	@DESK_BIN=$(CURDIR)/$(O)/bin BENCH_CACHE=$${BENCH_CACHE:-$(CURDIR)/$(O)/bench-cache} sh bench/run

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR) \
		$(DESTDIR)$(EXAMPLESDIR)
	for t in $(TOOLS); do install -m 755 $(O)/bin/$$t $(DESTDIR)$(BINDIR)/$$t; done
	for m in $(MAN); do s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	for t in $(TOOLS); do \
		install -m 644 completions/desk.bash $(DESTDIR)$(BASHCOMPDIR)/$$t && \
		install -m 644 completions/desk.fish $(DESTDIR)$(FISHCOMPDIR)/$$t.fish; done
	install -m 644 completions/_desk $(DESTDIR)$(ZSHCOMPDIR)/_desk
	for f in $(EXAMPLES); do d=$(DESTDIR)$(EXAMPLESDIR)/$${f#examples/}; \
		if [ -d $$f ]; then mkdir -p $$d; \
		elif [ -x $$f ]; then install -m 755 $$f $$d; \
		else install -m 644 $$f $$d; fi; done

uninstall:
	for t in $(TOOLS); do rm -f $(DESTDIR)$(BINDIR)/$$t \
		$(DESTDIR)$(BASHCOMPDIR)/$$t $(DESTDIR)$(FISHCOMPDIR)/$$t.fish; done
	rm -f $(DESTDIR)$(ZSHCOMPDIR)/_desk
	rm -rf $(DESTDIR)$(EXAMPLESDIR)
	for m in $(MAN); do s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done

clean:
	rm -rf build build-san build-fuzz

.PHONY: all check check-san fuzz fuzz-bins demo bench install uninstall clean

-include $(LIBOBJ:.o=.d) $(TOOLS:%=$(O)/cmd/%.d) $(WEBHOOK_OBJ:.o=.d) $(FUZZ_LIBOBJ:.o=.d) \
	$(FUZZ_BINS:=.d)
