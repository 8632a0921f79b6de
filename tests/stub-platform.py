#!/usr/bin/env python3
"""A stand-in for the platforms' HTTP APIs on 127.0.0.1, for the tests.

    stub-platform.py PORTFILE LOG

Listens on a free loopback port, writes it to PORTFILE, and answers as the
real APIs do (REFERENCES §2, §3), one JSON line per request appended to LOG
(method, path, the Authorization and Content-Type headers, the body):

  Chat2Desk, under /v1, "Authorization: TOKEN" (the raw token):
    GET  /v1/companies/api_info  200 {"data":{...},"status":"success"}
    POST /v1/webhooks            200 {"data":{"id":N,...},"status":"success"}
    GET  /v1/webhooks            200 {"data":[the webhooks posted],"status":"success"}
    POST /v1/messages            200 {"data":{"message_id":N,...},"status":"success"}
    a token other than c2d-good  401 {"status":"error","message":"Unauthorized"}
    the token c2d-broken         500
  Anything under /redirect/     302 to elsewhere (never to be followed)
  Blip, "Authorization: Key KEY":
    POST /commands               200 {"method":"get","status":"success",...}
    POST /messages               202 (a message sent: the demo's replies)
    a key other than blip-good   401
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

portfile, logfile = sys.argv[1], sys.argv[2]
hooks = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        # HTTP/1.0: said, so that a client never reuses a closed connection.
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else None
        auth = self.headers.get("Authorization")
        with open(logfile, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path,
                                "authorization": auth,
                                "content_type": self.headers.get("Content-Type"),
                                "body": json.loads(body) if body else None}) + "\n")
        if self.path.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.startswith("/v1/"):
            if auth == "c2d-broken":
                return self.answer(500, {"status": "error", "message": "Internal"})
            if auth != "c2d-good":
                return self.answer(401, {"status": "error", "message": "Unauthorized"})
            if self.command == "GET" and self.path == "/v1/companies/api_info":
                return self.answer(200, {"data": {"company_id": 1, "requests_left": 9999},
                                         "status": "success"})
            if self.command == "GET" and self.path == "/v1/webhooks":
                return self.answer(200, {"data": hooks, "status": "success"})
            if self.command == "POST" and self.path == "/v1/webhooks":
                req = json.loads(body or "{}")
                if not isinstance(req.get("url"), str) or req.get("events") != ["inbox"]:
                    return self.answer(400, {"status": "error", "message": "bad webhook"})
                hooks.append(req)
                return self.answer(200, {"data": dict(req, id=len(hooks)), "status": "success"})
            if self.command == "POST" and self.path == "/v1/messages":
                self.sent = getattr(Handler, "sent", 0) + 1
                Handler.sent = self.sent
                return self.answer(200, {"data": {"message_id": 9000 + self.sent, "dialog_id": 7},
                                         "status": "success"})
            return self.answer(404, {"status": "error", "message": "no such method"})
        if self.path == "/commands" and self.command == "POST":
            if auth != "Key blip-good":
                return self.answer(401, {"reason": {"code": 401, "description": "Unauthorized"}})
            cmd = json.loads(body or "{}")
            return self.answer(200, {"method": cmd.get("method"), "status": "success",
                                     "id": cmd.get("id"), "from": "postmaster@msging.net/#az"})
        if self.path == "/messages" and self.command == "POST" and auth == "Key blip-good":
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            return
        return self.answer(404, {"status": "error"})

    do_GET = do_POST = do_PUT = handle_any


server = HTTPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
