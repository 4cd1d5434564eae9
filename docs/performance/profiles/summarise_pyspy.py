"""Main-thread (event loop) samples: inclusive share of the functions that matter."""
import sys, collections, re
KEYS = [
 ("hypercorn: h11 protocol + socket I/O (whole)", ["H11Protocol.handle", "TCPServer._read_data", "TCPServer.protocol_send", "H11Protocol.stream_send"]),
 ("hypercorn access log (Logger.access)", ["Logger.access"]),
 ("  of which AccessLogAtoms (iterates os.environ)", ["AccessLogAtoms.__init__"]),
 ("app call (ASGIWrapper.__call__, whole request in app)", ["ASGIWrapper.__call__"]),
 ("async layer: accept a job (AsyncJobLayer._accept)", ["AsyncJobLayer._accept"]),
 ("  Runtime.submit (record queued, wait durable)", ["Runtime.submit"]),
 ("  router check (_route: werkzeug match)", ["AsyncJobLayer._route"]),
 ("Quart request handling (QuartTrio.handle_request)", ["QuartTrio.handle_request"]),
 ("job API handler (job_api)", ["job_api"]),
 ("  Runtime.fetch", ["Runtime.fetch"]),
 ("  stored_result (build the response)", ["stored_result"]),
 ("job actors (Supervisor._act, whole)", ["Supervisor._act"]),
 ("  executor: replay request through app (AsyncJobLayer.execute)", ["AsyncJobLayer.execute"]),
 ("  echo handler", ["echo"]),
 ("supervisor dispatch loop (Supervisor.run)", ["Supervisor.run"]),
 ("journal writer task (JournalWriter.run, on the loop)", ["JournalWriter.run"]),
 ("  encode: encode_event", ["encode_event"]),
 ("  encode: encode_line (json.dumps + sha256)", ["encode_line"]),
 ("  thread hop: trio.to_thread.run_sync", ["to_thread_run_sync"]),
 ("projection: JobTable.apply", ["JobTable.apply"]),
]
path = sys.argv[1]
total = 0; incl = collections.Counter(); self_ = collections.Counter(); threads = 0
for line in open(path):
    stack, _, n = line.rstrip().rpartition(" "); n = int(n)
    frames = [re.sub(r" \(.*\)$", "", f) for f in stack.split(";")]
    if frames[0].startswith("Thread._bootstrap"):
        threads += n; continue
    total += n
    seen = set(frames)
    for label, names in KEYS:
        if any(name in seen for name in names): incl[label] += n
    self_[frames[-1]] += n
print(f"{path}: event-loop samples {total}, worker-thread samples {threads}")
for label, _ in KEYS: print(f"{100*incl[label]/total:5.1f}%  {label}")
print("top self (event loop):", ", ".join(f"{k} {100*v/total:.1f}%" for k, v in self_.most_common(8)))
