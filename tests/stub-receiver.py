#!/usr/bin/env python3
"""A receiver on 127.0.0.1 for desk-webhook send's tests: speaks HTTP/1.1
with keep-alive, records every request it gets as one JSON line (method,
path, headers, body, and for a custom channel whether the Standard Webhooks
signature verifies, checked here with python's own hmac), and answers as
told. It never shares code with desk: it is the other side.

  stub-receiver.py PORTFILE LOG [options]
    --kind custom|chat2desk|blip   what to answer on success
    --secret whsec_...             verify v1 (custom)
    --fail N                       the first N requests of each webhook-id
                                   (or of each body, without one) get --fail-status
    --fail-status CODE             (500)
    --status CODE                  every request gets CODE (after --fail)
    --header 'Name: value'         added to every answer
    --delay-max S                  sleep a random 0..S seconds before answering
    --c2d-error                    chat2desk: answer 200 {"status":"error"}
"""
import argparse, base64, hashlib, hmac, json, os, random, socketserver, sys, threading, time
from http.server import BaseHTTPRequestHandler, HTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("portfile")
ap.add_argument("log")
ap.add_argument("--kind", default="custom")
ap.add_argument("--secret")
ap.add_argument("--fail", type=int, default=0)
ap.add_argument("--fail-status", type=int, default=500)
ap.add_argument("--status", type=int, default=0)
ap.add_argument("--header", action="append", default=[])
ap.add_argument("--delay-max", type=float, default=0)
ap.add_argument("--c2d-error", action="store_true")
a = ap.parse_args()

lock = threading.Lock()
seen = {}
counter = [0]
log = open(a.log, "a", buffering=1)


def verify(h, body):
    if not a.secret:
        return None
    key = base64.b64decode(a.secret[len("whsec_"):])
    msg = ("%s.%s." % (h.get("webhook-id", ""), h.get("webhook-timestamp", ""))).encode() + body
    want = base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()
    sigs = h.get("webhook-signature", "").split(" ")
    return any(s.startswith("v1,") and hmac.compare_digest(s[3:], want) for s in sigs)


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_one(self):
        n = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(n) if n else b""
        h = {k.lower(): v for k, v in self.headers.items()}
        key = h.get("webhook-id") or body
        with lock:
            seen[key] = seen.get(key, 0) + 1
            nth = seen[key]
            counter[0] += 1
            rec = {"n": counter[0], "method": self.command, "path": self.path,
                   "headers": h, "body": body.decode("utf-8", "replace"),
                   "nth": nth, "sig_ok": verify(h, body), "t": time.time()}
        if a.delay_max:
            time.sleep(random.uniform(0, a.delay_max))
        status = 200
        if nth <= a.fail:
            status = a.fail_status
        elif a.status:
            status = a.status
        if a.kind == "chat2desk" and status == 200:
            if a.c2d_error:
                out = {"status": "error", "message": "client not found"}
            else:
                out = {"status": "success", "data": {"message_id": 9000 + rec["n"], "dialog_id": 7}}
        elif a.kind == "blip" and status == 200:
            status, out = 202, None
        else:
            out = {"result": "ok"} if status < 300 else {"error": "stub"}
        rec["status"] = status
        rec["t_done"] = time.time()
        with lock:
            log.write(json.dumps(rec) + "\n")
        data = json.dumps(out).encode() if out is not None else b""
        self.send_response(status)
        if status in (301, 302):
            self.send_header("Location", "http://127.0.0.1:1/elsewhere")
        for x in a.header:
            k, v = x.split(":", 1)
            self.send_header(k.strip(), v.strip())
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_PUT = do_GET = handle_one


class S(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass    # a sender killed mid-request resets its connection

    def server_activate(self):
        super().server_activate()
        conns = open(a.log + ".conns", "a", buffering=1)
        orig = self.get_request

        def counted():
            s, addr = orig()
            conns.write("%s:%d\n" % addr)
            return s, addr
        self.get_request = counted


srv = S(("127.0.0.1", 0), H)
tmp = a.portfile + ".tmp"
with open(tmp, "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(tmp, a.portfile)
try:
    srv.serve_forever()
except KeyboardInterrupt:
    pass
