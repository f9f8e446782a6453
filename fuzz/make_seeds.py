#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into fuzz/corpus/<target>/.

Seeds come from the repository's own test data (tests/data/training,
data/domain, config/chatbot.toml, tests/fixtures/use) and from small files
made here in the formats the parsers read (safetensors, manifests with their
checksums, backup folders, HTTP requests). Run from anywhere; it rewrites
the seeds it makes and leaves other files (crash inputs kept as regression
seeds) alone.
"""
import hashlib
import json
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
SEP = "\n%%\n"


def seed(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (folder / name).write_bytes(data)


def sha(data):
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def http():
    seed("http_request", "get", "GET /v1/sessions?limit=10&q=refund%20policy HTTP/1.1\r\n"
         "Host: localhost\r\nX-Request-ID: abc-1\r\n\r\n")
    seed("http_request", "post_json", "POST /v1/parse HTTP/1.1\r\nHost: x\r\n"
         "Content-Type: application/json\r\nContent-Length: 29\r\n\r\n"
         '{"text":"where is my order"}\n')
    seed("http_request", "chunked", "POST /v1/chat?x=1 HTTP/1.1\r\nHost: x\r\n"
         "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
         '5\r\n{"mes\r\n11;ext=1\r\nsage":"hi there"}\r\n0\r\nTrailer: 1\r\n\r\n')
    seed("http_request", "pipelined", "GET /health HTTP/1.1\r\nHost: a\r\n\r\n"
         "HEAD /v1/bot HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    seed("http_request", "http10", "GET /?q=+a+b HTTP/1.0\r\n\r\n")
    seed("http_request", "expect", "PUT /v1/x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
         "Content-Length: 2\r\n\r\nok")
    seed("http_request", "smuggle", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
         "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")
    seed("query_string", "plain", "limit=10&q=refund%20policy" + SEP + "q")
    seed("query_string", "plus", "q=a+b%2Bc&q=second" + SEP + "q")
    seed("query_string", "number", "1e-3")
    seed("query_string", "integer", "-12")
    seed("transfer_encoding", "chunked", " Chunked ")
    seed("transfer_encoding", "list", "gzip, chunked\nchunked")


def config():
    toml = (ROOT / "config" / "chatbot.toml").read_text()
    seed("config", "shipped", toml)
    seed("config", "small", '[server]\nport = 9090\nhost = "127.0.0.1"\n[security]\n'
         'allow = ["10.0.0.0/8", "::1"]\n[svm]\nc = 2.5\n' + SEP +
         "CHATBOT_SERVER_THREADS=4\nCHATBOT_SECURITY_TRUSTED_PROXIES=10.0.0.1,10.0.0.2\n" + SEP +
         "nlu.top_k=3\nbot.name=Zed")
    seed("config", "bad_type", '[server]\nport = "x"\n')


def training():
    data = ROOT / "tests" / "data" / "training"
    for path in sorted(data.rglob("*")):
        if path.suffix == ".jsonl":
            seed("training_jsonl", path.name, path.read_bytes())
        elif path.suffix == ".csv":
            seed("training_csv", path.name, path.read_bytes())
            seed("csv_records", path.name, path.read_bytes())
        elif path.suffix in (".yml", ".yaml"):
            seed("training_yml", path.name, path.read_bytes())
    domain = sorted((ROOT / "data" / "domain").glob("*.yml"))
    for path in domain[:2]:
        seed("training_yml", "domain_" + path.name, path.read_bytes())
    seed("csv_records", "quoted", 'text,intent\r\n"a, ""quoted""\nline",b\r\n\r\nc,d')


def safetensors(tensors, metadata=None):
    header = {}
    blob = b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(blob), len(blob) + len(raw)]}
        blob += raw
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + blob


def models():
    seed("safetensors", "f32_i64", safetensors({
        "weight": ("F32", [2, 3], struct.pack("<6f", 1, -2, 0.5, 3e38, 0, -0.0)),
        "ids": ("I64", [3], struct.pack("<3q", 1, -1, 2**62))}, {"format": "pt"}))
    seed("safetensors", "f16_bf16_i32", safetensors({
        "a": ("F16", [2], struct.pack("<2H", 0x3C00, 0x7C00)),
        "b": ("BF16", [1, 2], struct.pack("<2H", 0x3F80, 0xFF80)),
        "c": ("I32", [], struct.pack("<i", -7))}))
    seed("wordpiece_vocab", "small", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n##s\norder\n##ing\n")
    seed("wordpiece_vocab", "crlf", "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhello\r\n")
    # The first pieces of the Universal Sentence Encoder's vocabulary shape.
    seed("sentencepiece_vocab", "small", json.dumps(
        [["<unk>", 0], ["<s>", 0], ["</s>", 0], ["<pad>", 0], ["<x1>", 0], ["<x2>", 0],
         ["\u2581", -2.5], ["\u2581where", -7.25], ["\u2581is", -5.0], ["s", -3.5],
         ["\u00e9", -9.0], ["or", -6.0], ["der", -6.5]]) + SEP + "where is my order? café")
    files = {"model.bin": "binary\x00weights", "smoke.jsonl": '{"text":"hi","intent":"greet"}\n'}
    manifest = {"format": "svm", "format_version": 1, "labels": ["greet"],
                "files": {n: {"sha256": sha(c), "bytes": len(c.encode())} for n, c in files.items()}}
    seed("model_manifest", "valid", json.dumps(manifest) +
         "".join(SEP + n + "\n" + c for n, c in files.items()))
    manifest["files"]["model.bin"]["bytes"] = 3
    seed("model_manifest", "wrong_size", json.dumps(manifest) +
         "".join(SEP + n + "\n" + c for n, c in files.items()))


def backups():
    files = {"config/chatbot.toml": "[server]\nport = 1\n",
             "model/svm/manifest.json": '{"format":"svm","format_version":1,"files":{}}',
             "keys/admin.key": "cbk_0123456789abcdef_" + "A" * 43 + "\n"}
    manifest = {"format": "chatbot-backup", "format_version": 1, "name": "20261129T002747Z",
                "created_at": "2026-11-29T00:27:47Z", "host": "h", "program_version": "0.1.0",
                "seconds": 0.5,
                "items": [{"role": "config", "kind": "file", "source": "config/chatbot.toml",
                           "path": "config/chatbot.toml"},
                          {"role": "model/svm", "kind": "directory", "source": "model/svm",
                           "path": "model/svm", "format": "svm", "version": 1},
                          {"role": "admin_key", "kind": "file", "source": "a",
                           "path": "keys/admin.key"},
                          {"role": "sessions", "kind": "sqlite", "present": False}],
                "files": {n: {"sha256": sha(c), "bytes": len(c.encode())} for n, c in files.items()}}
    seed("backup", "valid", json.dumps(manifest) +
         "".join(SEP + n + "\n" + c for n, c in files.items()))
    manifest["items"].append({"role": "keys", "kind": "sqlite", "path": "keys/keys.db"})
    seed("backup", "missing_db", json.dumps(manifest) +
         "".join(SEP + n + "\n" + c for n, c in files.items()))


def security():
    seed("cidr", "list", "10.0.0.0/8\n2001:db8::/32\n192.0.2.7\n::1\n::ffff:192.0.2.1\n")
    seed("cidr", "bad", "10.0.0.1/8\n300.1.1.1\n[::1]:443\n192.0.2.1:8080\n")
    seed("forwarded", "xff", "192.0.2.9, 10.0.0.2" + SEP + "10.0.0.3")
    seed("forwarded", "rfc7239", 'for=192.0.2.60;proto=http;by=203.0.113.43, '
         'for="[2001:db8:cafe::17]:4711"' + SEP + "for=unknown, for=_hidden")
    seed("api_key", "valid", "cbk_3f9a0c1d2e4b5a69_" + "Xk3" * 14 + "Q")
    seed("api_key", "id", "3f9a0c1d2e4b5a69")
    seed("api_key", "bad", "cbk_3F9A0C1D2E4B5A69_" + "-" * 43)


def api_bodies():
    json_type = "application/json; charset=utf-8"
    bodies = {
        "parse": '{"text": "where is my order", "extra": 1}',
        "batch": '{"texts": ["hello", "where is my order", "   "]}',
        "chat": '{"session_id": "3f2a9c0d1e4b5a6978c1d2e3f4a5b6c7", "message": "refund \\u00e9"}',
        "label": '{"session_id": "abc", "turn": 2, "intent": "order_status"}',
        "key": '{"name": "shop", "role": "client", "expires": "90d", "allow": ["10.0.0.0/8"],'
               ' "rate_limit": 12.5, "burst": null}',
        "key_change": '{"expires": null, "rate_limit": 1e-3, "role": "operator"}',
        "rotate": '{"grace": "24h"}',
        "lockdown": '{"on": true, "reason": "incident 42"}',
        "notice": '{"text": "maintenance at 22:00", "until": "2h"}',
    }
    for name, body in bodies.items():
        seed("api_bodies", name, name + SEP + json_type + SEP + body)
    seed("api_bodies", "wrong_type", "chat" + SEP + "text/plain" + SEP + '{"message": "hi"}')
    seed("api_bodies", "unknown_field", "lockdown" + SEP + "application/json" + SEP +
         '{"on": false, "id": 7}')
    seed("api_bodies", "empty_admin", "rotate" + SEP + "" + SEP + "  ")


http()
api_bodies()
config()
training()
models()
backups()
security()
