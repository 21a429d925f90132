#!/usr/bin/env python3
"""Start-up latency and memory of the two release binaries under a local
Lambda Runtime API, against moto (no AWS account).

    cargo build --release -p functions --bins
    .venv/bin/python functions/benches/startup.py [--runs 20] [--requests 1000]

For each binary: the median over --runs fresh processes of (a) process start
to its first `GET /runtime/invocation/next` (ready) and (b) process start to
the response of its first real request; then the peak RSS (VmHWM) of one
process after --requests requests. Uses the project venv's moto and boto3.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "target" / "release"
USER = "3f1c8a52-7d4e-4b7a-9a31-aaaaaaaaaaaa"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def event(path, body, n):
    return json.dumps({
        "version": "2.0", "routeKey": f"POST {path}", "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "api.example.com"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com", "domainPrefix": "api",
            "authorizer": {"jwt": {"claims": {"sub": USER}, "scopes": None}},
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "bench"},
            "requestId": f"bench-{n}", "routeKey": f"POST {path}", "stage": "$default",
            "time": "28/Nov/2026:03:00:00 +0000", "timeEpoch": 1795834800000,
        },
        "body": json.dumps(body), "isBase64Encoded": False,
    }).encode()


class RuntimeApi:
    """A minimal Lambda Runtime API serving a fixed list of events."""

    def __init__(self, events):
        self.events = list(events)
        self.next_times = []
        self.responses = []
        self.cv = threading.Condition()
        api = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                if not self.path.endswith("/invocation/next"):
                    self.send_response(404)
                    self.end_headers()
                    return
                with api.cv:
                    api.next_times.append(time.perf_counter())
                    while not api.events:
                        api.cv.wait()
                    n, body = api.events.pop(0)
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", f"req-{n}")
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length)
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with api.cv:
                    api.responses.append((time.perf_counter(), self.path, data))
                    api.cv.notify_all()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_responses(self, n, timeout=120):
        end = time.time() + timeout
        with self.cv:
            while len(self.responses) < n:
                if not self.cv.wait(timeout=max(0.0, end - time.time())):
                    raise RuntimeError(f"only {len(self.responses)} of {n} responses")

    def close(self):
        self.server.shutdown()


def run_binary(name, env, events, measure_rss=False):
    api = RuntimeApi(events)
    e = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.port}")
    t0 = time.perf_counter()
    p = subprocess.Popen([str(BIN / name)], env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        api.wait_responses(len(events))
        rss = None
        if measure_rss:
            for line in Path(f"/proc/{p.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    rss = int(line.split()[1]) / 1024.0
        ready = (api.next_times[0] - t0) * 1000
        first = (api.responses[0][0] - t0) * 1000
        return ready, first, rss, [r[2] for r in api.responses]
    finally:
        p.kill()
        p.wait()
        api.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--requests", type=int, default=1000)
    args = ap.parse_args()

    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    creds = dict(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, **creds)
    kms = boto3.client("kms", endpoint_url=endpoint, **creds)
    ddb.create_table(
        TableName="voice-learning-sessions", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("sessionId", "sk", "userId", "updatedAt")],
        KeySchema=[{"AttributeName": "sessionId", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{
            "IndexName": "UserSessionIndex",
            "KeySchema": [{"AttributeName": "userId", "KeyType": "HASH"}, {"AttributeName": "updatedAt", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["createdAt", "currentTopic", "expiresAt", "language", "mode", "status", "turnCount"]},
        }],
    )
    ddb.create_table(
        TableName="voice-learning-user-profiles", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "userId", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "userId", "KeyType": "HASH"}],
    )
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "bench", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_LOG_STREAM_NAME": "bench", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
        "SESSIONS_TABLE": "voice-learning-sessions", "USER_PROFILES_TABLE": "voice-learning-user-profiles", "KMS_KEY_ID": key,
    }

    create = {"action": "create", "session": {"currentTopic": "JavaScript Basics", "mode": "tutor"}}
    _, _, _, out = run_binary("session-persistence", env, [(0, event("/sessions", create, 0))])
    sid = json.loads(json.loads(out[0])["body"])["session"]["sessionId"]

    def add_turn(n):
        return {"action": "add_turn", "sessionId": sid, "turn": {"role": "user", "content": f"What is a closure? ({n})", "language": "en"}}

    plans = {
        "session-persistence": ("/sessions", lambda n: {"action": "get", "sessionId": sid} if n % 2 else {"action": "list", "limit": 5}),
        "context-manager": ("/context", lambda n: add_turn(n) if n % 2 else {"action": "get_context", "sessionId": sid}),
    }
    results = {}
    for name, (path, body) in plans.items():
        readies, firsts = [], []
        for r in range(args.runs):
            ready, first, _, out = run_binary(name, env, [(r, event(path, body(r), r))])
            status = json.loads(out[0])["statusCode"]
            assert status == 200, out[0]
            readies.append(ready)
            firsts.append(first)
        evs = [(n, event(path, body(n), n)) for n in range(args.requests)]
        t = time.perf_counter()
        _, _, rss, out = run_binary(name, env, evs, measure_rss=True)
        elapsed = time.perf_counter() - t
        bad = [o for o in out if json.loads(o)["statusCode"] != 200]
        assert not bad, bad[:1]
        results[name] = {
            "binary_bytes": (BIN / name).stat().st_size,
            "median_ms_to_ready": round(statistics.median(readies), 2),
            "median_ms_to_first_response": round(statistics.median(firsts), 2),
            "peak_rss_mb_after_requests": round(rss, 2),
            "requests": args.requests,
            "requests_per_second_vs_moto": round(args.requests / elapsed, 1),
        }
    moto.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
