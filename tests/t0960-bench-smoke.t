#!/bin/sh
# make bench's harness (bench/run) on tiny sizes: it runs to the end, prints
# the table and writes results.json with every figure in it, issue 12's
# with their base, ratio, target and verdict; a second run reuses the big
# store it built. Times nothing: the figures of so small a run mean
# nothing, only that each is there.
. "$(dirname "$0")/lib.sh"

# No pinned clock: bench/serve and bench/send wait on real time.
unset DESK_NOW
export DESK_BIN
export BENCH_N=200 BENCH_USERS=40 BENCH_RUNS=2 BENCH_CASES=1000 \
	BENCH_SMALL_CASES=100 BENCH_GROW_N=50 BENCH_IDENT_USERS=20 \
	BENCH_SEND_N=40 BENCH_SEND_CASES=10 BENCH_CURL_N=10 BENCH_SECONDS=1 \
	BENCH_CONNECTIONS=4 BENCH_CACHE=$T/cache BENCH_DIR=$T \
	BENCH_RESULTS=$T/results.json
command -v wrk > /dev/null || BENCH_SECTIONS="ingest reply scale other identify route send recv"
export BENCH_SECTIONS
run sh "$TOP/bench/run"
rc 0 "bench/run exits 0"
R=$T/results.json
json $R '.params | [.messages, .runs, .big_cases]' '[200,2,1000]' "results.json: the parameters"
json $R '.commit | test("^[0-9a-f]{40}")' 'true' "results.json: the commit"
json $R '.date | test("^20[0-9-]{8}T")' 'true' "results.json: the date"
json $R '.big_store | [.cases, .reused, (.wall_s | type)]' '[1000,false,"number"]' "the big store was built"

# Issue 12's figures: each with a number for desk and for its base, a ratio,
# a target and whether it is met.
for id in case_vs_jq reply_vs_jq grow write_bytes list_user list_limit list_status fsck_rss; do
	json $R "[.figures[] | select(.id == \"$id\") |
		([.desk, .base, .ratio] | all(type == \"number\")) and (.target.value | type == \"number\")
		and (.met | type == \"boolean\")] " '[true]' "figure $id: desk, base, ratio, target, met"
done
json $R '[.figures[] | select(.id == "case_vs_jq" or .id == "fsck_rss") | .runs]' '[2,1]' \
	"the runs each figure is the median of"
json $R '.figures[] | select(.id == "write_bytes") | .detail.how | test("^(sectors written to a loop device|write_bytes)")' \
	'true' "bytes to disk: says how they were counted"
# Told apart by file where the loop device's writes could be traced.
json $R '.figures[] | select(.id == "write_bytes") | .detail.by_file |
	. == null or (has("log") and has("index/keys.hx") and has("index/batch.redo") and
		(map_values(type) | [.[]] | unique) == ["number"])' \
	'true' "bytes to disk: by file, the log, the index and the journal among them, or null"
# On a loop device, the issue's input size in one run too.
json $R '([.figures[] | select(.id == "write_bytes_bulk") | .desk | type]) ==
	if (.figures[] | select(.id == "write_bytes") | .detail.how | startswith("sectors")) then ["number"] else [] end' \
	'true' "bytes to disk: of one run of the whole input as well, where counted on a loop device"
# The rest of make bench.
for id in replay_vs_jq store_growth wchar rss_4x sync_event startup ident_code ident_filter \
	route route_jq route_fire route_check tick; do
	json $R "[.figures[] | select(.id == \"$id\") | .desk | type]" '["number"]' "figure $id"
done
json $R '[.figures[] | select(.id | startswith("recv: recv --lines")) | .ratio | type]' \
	'["number","number","number"]' "recv: the three connectors beside jq"
json $R '[.figures[] | select(.id | startswith("send: ")) | .desk | type] | length' '7' "send: its seven figures"
if command -v wrk > /dev/null; then
	json $R '[.figures[] | select(.id == "serve") | .ratio | type]' '["number"]' "serve: durable / tmpfs"
else
	pass "# skip wrk not installed: no serve figure"
fi
json $R '[.figures[] | select(.desk == null) | .id]' '[]' "no figure without a value"

# The table: a row per figure, and the issue's first one with its target.
n=$(jq '.figures | length' $R)
is "$(grep -c '^| ' $OUT)" "$((n + 1))" "the table: a header and $n rows"
like $OUT '^\| desk-case events/s ÷ jq -c \. events/s, same file +\| cpu +\| events/s +\| [0-9]+ +\| [0-9]+ +\| [0-9.]+× +\| [0-9.-]+×? +\| ratio >= 0.5 +\| (yes|NO) +\|$' \
	"the table: desk-case against jq, its target"
like $OUT '^\| desk-case fsck peak RSS at 1000 cases \(base: at 100\) +\| rss +\| MiB ' "the table: fsck's RSS"

# bench/gen's prefixes make sets of users that share nothing a store
# matches users by: user_custom_id, email, phone.
${CC:-cc} -O2 -o $T/gen "$TOP/bench/gen.c"
contacts() {
	"$T/gen" -s "$1" -p "$2" messages 3000 600 |
		jq -r '.user_custom_id, (.email // empty | ascii_downcase), (.phone // empty)' | sort -u
}
contacts 7 a > $T/a; contacts 8 b > $T/b
is "$(sort $T/a $T/b | uniq -d | wc -l | tr -d ' ')" 0 "bench/gen: -p a and -p b share no id, email or phone"
[ "$(grep -c @ $T/a)" -gt 200 ] && [ "$(grep -c '^+' $T/b)" -gt 100 ]
ok $? "... and each has hundreds of emails and phones"

# Again: the big store is reused, not built.
BENCH_SECTIONS=scale run sh "$TOP/bench/run"
rc 0 "a second run exits 0"
json $R '.big_store.reused' 'true' "the second run reuses the big store"
is "$(ls $T/cache | wc -l)" 1 "one store in the cache"
done_testing
