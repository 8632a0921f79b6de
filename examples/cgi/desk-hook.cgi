#!/bin/sh
# desk-hook.cgi: one webhook per run, for a CGI server (RFC 3875) or an
# inetd-style one, instead of the long-running desk-webhook serve: the
# platform posts to /cgi-bin/desk-hook.cgi/CHANNEL, desk-webhook recv --cgi
# authenticates and reads the request (desk-webhook(1) RECEIVING), and the
# events go through the filters before the answer is given, so a 200 means
# stored. Replies are delivered by the timers (../systemd/desk-send.timer,
# ../cron/desk.crontab), not here.
#
# The web server must run it as the store's user (suexec, fcgiwrap under
# that user): the store refuses anyone else. With nginx, fcgiwrap:
#   location /cgi-bin/desk-hook.cgi/ {
#       include fastcgi_params;
#       fastcgi_param SCRIPT_FILENAME /usr/local/lib/cgi-bin/desk-hook.cgi;
#       fastcgi_param PATH_INFO $fastcgi_path_info;
#       fastcgi_split_path_info ^(/cgi-bin/desk-hook.cgi)(/.*)$;
#       fastcgi_pass unix:/run/fcgiwrap-desk.socket;
#   }
set -u
# Where the tools are (make install's PREFIX/bin) and the store.
PATH=${DESK_BINDIR:-/usr/local/bin}:/usr/bin:/bin
DESK_STORE=${DESK_STORE:-/var/lib/desk/store}
export PATH DESK_STORE

answer() { # answer STATUS TEXT
	printf 'Status: %s\r\nContent-Type: text/plain\r\n\r\n%s\n' "$1" "$2"
	exit 0
}

[ "${REQUEST_METHOD:-}" = POST ] || answer "405 Method Not Allowed" "POST only"
channel=${PATH_INFO#/}
case $channel in
"" | *[!A-Za-z0-9._-]* | .*) answer "404 Not Found" "no such channel" ;;
esac

events=$(mktemp) || answer "503 Service Unavailable" "try again"
trap 'rm -f "$events"' EXIT
desk-webhook recv --channel "$channel" --cgi > "$events" 2> /dev/null
case $? in
0) ;;
65) answer "400 Bad Request" "rejected" ;;
77) answer "401 Unauthorized" "not authenticated" ;;
78) answer "404 Not Found" "no such channel" ;;
*) answer "503 Service Unavailable" "try again" ;;
esac
# Stored before the answer: each filter's status kept (sh has no pipefail).
# A record a filter rejects is quarantined in the store's rejects/ and
# answered 400, so the platform does not send it again; any other failure
# is a 503, and the platform's retry is recognised by its id (nothing is
# stored twice).
status=$(mktemp) || answer "503 Service Unavailable" "try again"
trap 'rm -f "$events" "$status"' EXIT
{ desk-case < "$events"; echo "case $?" >> "$status"; } |
	{ desk-identify; echo "identify $?" >> "$status"; } |
	{ desk-route; echo "route $?" >> "$status"; } |
	{ desk-reply > /dev/null; echo "reply $?" >> "$status"; }
if ! grep -qv ' 0$' "$status"; then
	answer "200 OK" "ok"
elif ! grep -v ' 0$' "$status" | grep -qv ' 65$'; then
	answer "400 Bad Request" "rejected"
fi
answer "503 Service Unavailable" "try again"
