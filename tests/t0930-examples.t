#!/bin/sh
# The deployment files of examples/: installed by make install, well formed
# (systemd-analyze verify where it is there, cron's five fields, nginx's
# blocks), and run: the service's pipeline with its stop, the crontab's
# commands, the CGI script answering requests.
. "$(dirname "$0")/lib.sh"

EX=$TOP/examples
# --- installed ---
make -s -C "$TOP" install O="$(cd "$DESK_BIN/.." && pwd)" ${DESK_SAN:+SAN=1} DESTDIR=$T/inst PREFIX=/usr > $T/make.log 2>&1
ok $? "make install DESTDIR=... PREFIX=/usr"
D=$T/inst/usr/share/doc/desk/examples
for f in systemd/desk.service systemd/desk.sysusers.conf systemd/desk-send.service \
	systemd/desk-send.timer systemd/desk-tick.service systemd/desk-tick.timer \
	cron/desk.crontab nginx/desk.conf cgi/desk-hook.cgi identification.rules.json; do
	cmp -s "$EX/$f" "$D/$f"; ok $? "installed: share/doc/desk/examples/$f"
done
[ -x "$D/cgi/desk-hook.cgi" ]; ok $? "the CGI script installed executable"
[ ! -x "$D/systemd/desk.service" ]; ok $? "the units installed not executable"
make -s -C "$TOP" uninstall DESTDIR=$T/inst PREFIX=/usr > /dev/null 2>&1
[ ! -e "$D" ]; ok $? "make uninstall removes them"

# --- systemd ---
S=$EX/systemd
for key in '^User=desk$' '^StateDirectory=desk$' '^ProtectSystem=strict$' '^NoNewPrivileges=yes$' \
	'^Restart=on-failure$' '^KillMode=mixed$' '^CapabilityBoundingSet=$'; do
	like $S/desk.service "$key" "desk.service: $key"
done
for u in desk-send desk-tick; do
	like $S/$u.service '^ProtectSystem=strict$' "$u.service: hardened too"
	like $S/$u.timer "^Description=" "$u.timer: a timer"
done
if command -v systemd-analyze > /dev/null 2>&1; then
	mkdir -p $T/units
	# The tools where this build has them, for verify to find.
	for f in $S/*.service $S/*.timer; do
		sed "s|/usr/local/bin/|$DESK_BIN/|g" "$f" > $T/units/"${f##*/}"
	done
	( cd $T/units && systemd-analyze verify --man=no ./*.service ./*.timer ) > $T/verify 2>&1
	ok $? "systemd-analyze verify: the units and timers"
	unlike $T/verify . "and it has nothing to say"
else
	pass "# SKIP no systemd-analyze"
	pass "# SKIP no systemd-analyze"
fi

# The service's pipeline, run as systemd would run it (%t: the runtime
# directory; a free port): a request in, then SIGTERM to the main process
# alone (KillMode=mixed): serve drains, the filters finish, all exit.
cmd=$(sed -n 's/^ExecStart=\/bin\/sh -c //p' $S/desk.service | sed "s/^'//; s/'\$//")
mkdir -p $T/run/desk
cmd=$(printf '%s' "$cmd" | sed "s|%t|$T/run|g; s|127.0.0.1:8080|127.0.0.1:0 --port-file $T/port|")
active_channel app --url http://127.0.0.1:9/app --allow-private
cp $EX/identification.rules.json $DESK_STORE/rules.json    # desk-route's default rules
# The pipeline's stdout through a FIFO: its reader ends when the last
# filter has exited.
mkfifo $T/pipe.fifo
cat $T/pipe.fifo > $T/pipe.out & reader=$!
sh -c "$cmd" > $T/pipe.fifo 2> $T/pipe.err &
main=$!
i=0; while [ ! -s $T/port ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(cat $T/port 2> /dev/null)
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
	--data '{"user_custom_id":"u1","id":"svc-1","content":"hello from the service"}' \
	"http://127.0.0.1:$PORT/hooks/app")
is "$code" 200 "desk.service's pipeline: the request accepted"
kill -TERM $main
wait_for $main 30
is "$WRC" 0 "SIGTERM to serve, the main process: it exits 0"
wait_for $reader 30
is "$WRC" 0 "and every filter finished at the end of its input"
# Whatever a failure above left running goes (by pid: the port file is ours).
for p in $(pgrep -f -- "--port-file $T/port"); do kill "$p"; done
run desk-case list
json $OUT '[.message_count, .channel]' '[2,"app"]' "the message stored, and the rule's reply the pipeline added"
like $T/pipe.out '"type":"delivery"' "send, the pipeline's last, wrote its delivery events"

# --- cron ---
C=$EX/cron/desk.crontab
grep -v '^#' $C | grep -v '^$' | grep -v '^[A-Z_]*=' > $T/jobs
is "$(awk 'NF < 6' $T/jobs)" "" "crontab: every job has five time fields and a command"
is "$(awk '{ for (i = 1; i <= 5; i++) if ($i !~ /^(\*|[0-9]+)(\/[0-9]+)?(,[0-9]+)*$/) print }' $T/jobs)" "" \
	"crontab: the time fields are cron's"
grep -E 'send --drain|route tick' $T/jobs | cut -d' ' -f6- | while read -r job; do
	sh -c "$job" > /dev/null 2>&1; echo "$? $job"
done > $T/ran
is "$(awk '$1 != 0' $T/ran)" "" "crontab: the delivery and tick jobs run (exit 0)"
is "$(wc -l < $T/ran | tr -d ' ')" 2 "crontab: both were run"
job=$(grep 'desk-case backup' $T/jobs | cut -d' ' -f6- | sed "s|/var/backups/desk|$T/backups|; s|\\\\%|%|g")
mkdir -p $T/backups
sh -c "$job"; ok $? "crontab: the nightly backup job"
DESK_STORE=$(ls -d $T/backups/*) run desk-case fsck
rc 0 "crontab: its copy passes fsck"

# --- nginx ---
N=$EX/nginx/desk.conf
like $N 'proxy_pass http://desk_serve;' "nginx: proxies to serve"
like $N 'listen 443 ssl' "nginx: terminates TLS"
is "$(sed 's/#.*//' $N | tr -cd '{' | wc -c)" "$(sed 's/#.*//' $N | tr -cd '}' | wc -c)" "nginx: braces balance"
is "$(sed 's/#.*//' $N | grep -v '^[[:space:]]*$' | grep -Ev '[;{}][[:space:]]*$')" "" \
	"nginx: every directive ends with ; or a block"
if command -v nginx > /dev/null 2>&1 && command -v openssl > /dev/null 2>&1; then
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=desk -days 1 \
		-keyout $T/key.pem -out $T/cert.pem > /dev/null 2>&1
	sed "s|/etc/letsencrypt/live/desk.example.org/fullchain.pem|$T/cert.pem|;
		s|/etc/letsencrypt/live/desk.example.org/privkey.pem|$T/key.pem|;
		s|listen 80;|listen 127.0.0.1:18080;|; s|listen 443 ssl|listen 127.0.0.1:18443 ssl|;
		/listen \[::\]/d" $N > $T/desk.conf
	printf 'pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp {\naccess_log off;\ninclude %s/desk.conf;\n}\n' \
		$T $T $T > $T/nginx.conf
	nginx -t -q -p $T -c $T/nginx.conf > $T/nginx.out 2>&1
	ok $? "nginx -t: the snippet is a valid configuration"
else
	pass "# SKIP no nginx here to check the snippet with"
fi

# --- CGI ---
G=$EX/cgi/desk-hook.cgi
sh -n $G; ok $? "the CGI script parses"
printf 'whsec_%s\n' "$(head -c 32 /dev/zero | base64)" > $T/secret
desk-webhook channel add web --url http://127.0.0.1:9/web --secret-file $T/secret --allow-private > /dev/null
desk-webhook channel activate web > /dev/null 2>&1
printf '{"user_custom_id":"c1","content":"through CGI"}' > $T/body
now=$(date +%s)
sig=$(desk-webhook sign --secret-file $T/secret --id cgi-1 --timestamp $now < $T/body | sed -n 's/^webhook-signature: //p')
cgi() { # cgi PATH_INFO SIGNATURE: the script's answer's status line
	DESK_BINDIR=$DESK_BIN DESK_NOW= REQUEST_METHOD=POST PATH_INFO=$1 CONTENT_LENGTH=$(wc -c < $T/body) \
		HTTP_WEBHOOK_ID=cgi-1 HTTP_WEBHOOK_TIMESTAMP=$now HTTP_WEBHOOK_SIGNATURE=$2 \
		sh $G < $T/body | head -n 1 | tr -d '\r'
}
is "$(cgi /web "$sig")" "Status: 200 OK" "CGI: a signed request stored, 200"
run desk-case list --channel web
json $OUT '.message_count' 2 "CGI: its message in a case, with the rule's reply"
is "$(cgi /web "$sig")" "Status: 200 OK" "CGI: the platform's retry: 200, stored once"
run desk-case list --channel web
json $OUT '.message_count' 2 "CGI: nothing stored twice"
is "$(cgi /web v1,AAAA)" "Status: 401 Unauthorized" "CGI: a bad signature, 401"
is "$(cgi /nosuch "$sig")" "Status: 404 Not Found" "CGI: an unknown channel, 404"
is "$(cgi '/../x' "$sig")" "Status: 404 Not Found" "CGI: no path tricks in the channel"
is "$(DESK_BINDIR=$DESK_BIN REQUEST_METHOD=GET sh $G | head -n 1 | tr -d '\r')" "Status: 405 Method Not Allowed" "CGI: POST only"
done_testing
