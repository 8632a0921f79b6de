#!/usr/bin/env python3
"""serve-load.py PORT CHANNEL COUNT PARALLEL ACKED [options]: a load client.

POSTs COUNT custom-channel messages to http://127.0.0.1:PORT/hooks/CHANNEL
from PARALLEL threads, each over one keep-alive connection (reopened after
an error), every request with its own webhook-id PREFIX-N. Each request that
is answered 2xx is appended to ACKED as "ID STATUS" the moment the answer
arrives (flushed), so a caller can see how far it got while it runs. Other
answers and errors are counted, never retried.

Options: --prefix P (webhook-ids, "load"), --secret whsec_... (sign each
request, Standard Webhooks v1, timestamp from --now or the clock),
--size N (bytes of content, 20), --timeout S (per request, 10),
--users N (distinct user_custom_ids, 50).

Prints "ok N other M errors E max_seconds T" and exits 0.
"""
import base64
import hashlib
import hmac
import http.client
import json
import sys
import threading
import time


def main():
    a = sys.argv[1:]
    port, channel, count, parallel, acked = a[0], a[1], int(a[2]), int(a[3]), a[4]
    opts = dict(prefix="load", secret=None, size="20", timeout="10", users="50", now=None)
    i = 5
    while i < len(a):
        opts[a[i][2:]] = a[i + 1]
        i += 2
    key = None
    if opts["secret"]:
        key = base64.b64decode(opts["secret"][len("whsec_"):])
    lock = threading.Lock()
    state = dict(next=0, ok=0, other=0, errors=0, max=0.0)
    out = open(acked, "a", buffering=1)

    def take():
        with lock:
            n = state["next"]
            if n >= count:
                return None
            state["next"] = n + 1
            return n

    def worker():
        conn = None
        while True:
            n = take()
            if n is None:
                break
            wid = "%s-%d" % (opts["prefix"], n)
            body = json.dumps({"case": {
                "user_custom_id": "u%d" % (n % int(opts["users"])),
                "content": ("m%d " % n).ljust(int(opts["size"]), "x")}}).encode()
            hdrs = {"Content-Type": "application/json", "webhook-id": wid}
            if key:
                ts = opts["now"] or str(int(time.time()))
                mac = hmac.new(key, b"%s.%s.%s" % (wid.encode(), ts.encode(), body),
                               hashlib.sha256).digest()
                hdrs["webhook-timestamp"] = ts
                hdrs["webhook-signature"] = "v1," + base64.b64encode(mac).decode()
            t0 = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", int(port),
                                                      timeout=float(opts["timeout"]))
                conn.request("POST", "/hooks/" + channel, body, hdrs)
                r = conn.getresponse()
                r.read()
                st = r.status
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except Exception:
                st = None
                if conn is not None:
                    conn.close()
                conn = None
            dt = time.monotonic() - t0
            with lock:
                state["max"] = max(state["max"], dt)
                if st is None:
                    state["errors"] += 1
                elif 200 <= st < 300:
                    state["ok"] += 1
                    out.write("%s %d\n" % (wid, st))
                else:
                    state["other"] += 1
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.close()
    print("ok %d other %d errors %d max_seconds %.2f" % (
        state["ok"], state["other"], state["errors"], state["max"]))


main()
