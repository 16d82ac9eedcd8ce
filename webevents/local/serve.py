"""`webevents serve`: a local collector with the deployed endpoint's request contract.

POST /events takes what API Gateway takes (webevents/aws/collector.py: one event or an array,
application/json or text/plain, the same limits, status codes and CORS header) and puts the
records through the local Firehose stand-in and the real transform Lambda into the lake's
raw.web_events, one request at a time. GET / is a demo tour page (a 360° panorama stand-in
using tracker/webevents.js), so a developer sees events land without any AWS.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from webevents import PROJECT_ROOT
from webevents.aws import collector
from webevents.local.ingest import ingest_files
from webevents.local.lake import LakeError, locked, resolve_lake

DEMO_DIR = Path(__file__).parent / "demo"
TRACKER_DIR = PROJECT_ROOT / "tracker"
STATIC = {
    "/": DEMO_DIR / "tour.html",
    "/tour.html": DEMO_DIR / "tour.html",
    "/tracker/webevents.js": TRACKER_DIR / "webevents.js",
}
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@dataclass
class Delivery:
    """One POST /events as the collector answered it (for the log and the tests)."""

    content_type: str
    status: int
    records: list[bytes]
    body: dict
    fetch_mode: str  # Sec-Fetch-Mode: "no-cors" for a beacon, "cors"/"same-origin" for fetch


@dataclass
class Collector:
    """The endpoint's behaviour, independent of HTTP: body -> records -> lake -> answer."""

    lake: Path
    allow_origin: str = "*"
    max_body_bytes: int = collector.MAX_BODY_BYTES
    lock: threading.Lock = field(default_factory=threading.Lock)
    deliveries: list[Delivery] = field(default_factory=list)

    def post(self, content_type: str | None, body: bytes, fetch_mode: str = "") -> collector.Answer:
        parsed = collector.parse_request(content_type, body, self.max_body_bytes)
        result = parsed
        if parsed.status == 200:
            result = collector.answer(*self._put_records(parsed.records))
        self.deliveries.append(
            Delivery(content_type or "", result.status, parsed.records, result.body, fetch_mode)
        )
        return result

    def _put_records(self, records: list[bytes]) -> tuple[int, dict]:
        """Kinesis PutRecords, locally: the records through the Firehose stand-in, now.

        Answers as Kinesis would, so the same `collector.answer` maps it; a failure of the
        local put is a whole-call ServiceUnavailable (the tracker retries the batch).
        """
        with self.lock, tempfile.TemporaryDirectory(prefix="webevents-serve-") as scratch:
            path = Path(scratch) / "records.jsonl"
            path.write_bytes(b"\n".join(records) + b"\n")
            try:
                summary = ingest_files([path], lake=self.lake, progress=False, workers=1,
                                       once=False)
            except Exception as error:  # noqa: BLE001 - any local failure is a 503 to the client
                print(f"webevents serve: put failed: {error}", file=sys.stderr)
                return 500, {"__type": "ServiceUnavailableException", "message": str(error)}
        # Every record was accepted by the stand-in (Ok, ProcessingFailed or Dropped is
        # Firehose's business after the put, as on AWS).
        accepted = summary.records_in
        return 200, {
            "FailedRecordCount": 0,
            "Records": [
                {"SequenceNumber": str(n), "ShardId": "shardId-local"} for n in range(accepted)
            ],
        }


class _Handler(BaseHTTPRequestHandler):
    server_version = "webevents-serve"
    collector: Collector  # set on the subclass make_server builds

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        print(f"{self.address_string()} {format % args}", file=sys.stderr)

    def _send(self, status: int, body: bytes, content_type: str, cors: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if cors:
            self.send_header("Access-Control-Allow-Origin", self.collector.allow_origin)
        self.end_headers()
        self.wfile.write(body)

    def do_OPTIONS(self) -> None:  # noqa: N802 - http.server's name
        """The CORS preflight, as the template's MOCK integration answers it."""
        if urlsplit(self.path).path != "/events":
            self._send(404, b'{"message":"Not Found"}', "application/json", cors=False)
            return
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", self.collector.allow_origin)
        self.send_header("Access-Control-Allow-Methods", "POST,OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:  # noqa: N802
        if urlsplit(self.path).path != "/events":
            self._send(404, b'{"message":"Not Found"}', "application/json", cors=False)
            return
        length = int(self.headers.get("Content-Length") or 0)
        # read at most one byte past the limit: the rest cannot change the answer (403)
        body = self.rfile.read(min(length, self.collector.max_body_bytes + 1))
        if length > len(body):
            self.close_connection = True
        result = self.collector.post(
            self.headers.get("Content-Type"), body, self.headers.get("Sec-Fetch-Mode", "")
        )
        payload = json.dumps(result.body, separators=(",", ":")).encode("utf-8")
        self._send(result.status, payload, "application/json", cors=True)

    def do_GET(self) -> None:  # noqa: N802
        path = STATIC.get(urlsplit(self.path).path)
        if path is None or not path.is_file():
            self._send(404, b"not found\n", "text/plain", cors=False)
            return
        self._send(HTTPStatus.OK, path.read_bytes(), CONTENT_TYPES[path.suffix], cors=False)


def make_server(lake: str | Path | None = None, host: str = "127.0.0.1", port: int = 8080,
                allow_origin: str = "*") -> ThreadingHTTPServer:
    """The collector's HTTP server (port 0 picks a free port); `.collector` holds its state."""
    handler = type("Handler", (_Handler,), {})
    handler.collector = Collector(resolve_lake(lake), allow_origin=allow_origin)
    server = ThreadingHTTPServer((host, port), handler)
    server.collector = handler.collector
    return server


def serve_command(args) -> int:
    """`webevents serve [--lake DIR] [--port 8080] [--host H] [--allow-origin O]`."""
    try:
        lake = resolve_lake(args.lake)
    except (OSError, LakeError) as error:
        print(f"webevents serve: cannot use the lake folder {args.lake}: {error}", file=sys.stderr)
        return 2
    try:
        server = make_server(lake, args.host, args.port, args.allow_origin)
    except OSError as error:
        print(f"webevents serve: cannot listen on {args.host}:{args.port}: {error.strerror}",
              file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    print(f"webevents serve: demo tour at http://{host}:{port}/ ; POST /events -> "
          f"Firehose stand-in -> raw.web_events in {lake} (Ctrl-C stops)")
    try:
        with locked(lake, "serve"):  # a writer, like run and ingest: one at a time
            server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    accepted = sum(len(d.records) for d in server.collector.deliveries if d.status == 200)
    print(f"webevents serve: {len(server.collector.deliveries)} request(s), "
          f"{accepted} event(s) landed")
    return 0
