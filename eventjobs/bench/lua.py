"""The wrk Lua scripts, one per kind of load.

Every script counts what it came for in ``ok`` (for example 202s for
submit, fetched results for lifecycle) and its ``done`` prints one line,
``BENCH {json}``, with wrk's totals and latency percentiles (microseconds)
for :mod:`.wrk` to read. wrk runs one Lua state per thread; ``done`` sums
the threads' counters through the thread objects kept by ``setup``.
"""

from __future__ import annotations

#: The job every submission runs: ``/_admin/echo`` with a ~170-byte JSON body.
SUBMIT_PATH = "/_admin/echo"
SUBMIT_BODY = (
    '{"collection":"orders","document":{"customer":"c-10492","items":[{"sku":"A-1",'
    '"qty":2},{"sku":"B-7","qty":1}],"total":129.5,"currency":"EUR","note":"bench"}}'
)

_REPORT = r"""
threads = {}
function setup(thread) table.insert(threads, thread) end

function done(summary, latency, requests)
  local ok, other, first, last, ranout, polls = 0, 0, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    ok = ok + (t:get("ok") or 0)
    other = other + (t:get("other") or 0)
    local f = t:get("first") or 0
    if f > 0 and (first == 0 or f < first) then first = f end
    last = math.max(last, t:get("last") or 0)
    ranout = ranout + (t:get("ranout") or 0)
    polls = polls + (t:get("polls") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"ok":%d,"other":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"first":%d,"last":%d,"ranout":%d,"polls":%d}\n',
    summary.requests, summary.duration, ok, other, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), first, last, ranout, polls))
end
"""

#: GET /_api/version: the trivial endpoint on the same app and stack.
BASELINE = (
    r"""
wrk.method = "GET"
wrk.path = "/_api/version"
ok, other = 0, 0
function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end
"""
    + _REPORT
)

#: PUT + x-arango-async: store; counts 202s and the range of ids handed out.
SUBMIT = (
    rf"""
wrk.method = "PUT"
wrk.path = "{SUBMIT_PATH}"
wrk.body = '{SUBMIT_BODY}'
wrk.headers["content-type"] = "application/json"
wrk.headers["x-arango-async"] = "store"
ok, other, first, last = 0, 0, 0, 0
function response(status, headers, body)
  if status == 202 then
    ok = ok + 1
    local id = tonumber(headers["x-arango-async-id"]) or 0
    if first == 0 or id < first then first = id end
    if id > last then last = id end
  else
    other = other + 1
  end
end
"""
    + _REPORT
)

#: PUT /_api/job/{id} for the ids args[1]..args[2] (finished jobs), in order.
#: Past the last id the thread stops and flags ``ranout``.
FETCH = (
    r"""
ok, other, ranout = 0, 0, 0
function init(args)
  nextid = tonumber(args[1])
  lastid = tonumber(args[2])
end
function request()
  local id = nextid
  if id > lastid then
    ranout = 1
    wrk.thread:stop()
    id = lastid
  end
  nextid = nextid + 1
  return wrk.format("PUT", "/_api/job/" .. id)
end
function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end
"""
    + _REPORT
)

#: Submit, then fetch, as CONNECTIONS clients that each submit a job and
#: fetch it until its result comes: at most CONNECTIONS jobs are
#: outstanding. Every 202's id is queued for a fetch; a connection that is
#: free fetches the oldest queued id when it is due (or when CONNECTIONS
#: jobs are outstanding), else submits a new job.
#: ``ok`` counts complete jobs (a fetch that returned the result), ``polls``
#: fetches answered 204 (still pending).
#:
#: args: CONNECTIONS PACE. An id is due once PACE answers have arrived since
#: its 202 (answers are this script's clock: wrk's Lua has no wall clock);
#: PACE 0 fetches at once (an eager client), PACE = 2 x CONNECTIONS waits
#: about two rounds of in-flight requests (a paced client).
#:
#: A 204 carries no job id, so fetches in flight are remembered with the
#: answer count when they were sent; one still not answered by its 200 after
#: every connection has had four more answers was a 204: it is queued again.
#: (A slow 200 can outlast that window; its second fetch then counts in
#: ``other`` as a 404. Two answers per connection was too short on a busy host.)
LIFECYCLE = (
    rf"""
ok, other, submitted, submitted_sent, polls = 0, 0, 0, 0, 0
queue, qhead, qtail = {{}}, 1, 0
inflight, fhead, ftail, answered = {{}}, 1, 0, 0
open_fetch = {{}}
submit_request = nil
function init(args)
  connections = tonumber(args[1]) or 50
  pace = tonumber(args[2]) or 0
  submit_request = wrk.format("PUT", "{SUBMIT_PATH}",
    {{["content-type"] = "application/json", ["x-arango-async"] = "store"}},
    '{SUBMIT_BODY}')
end
function request()
  local outstanding = submitted_sent - ok
  if qhead <= qtail and (queue[qhead][2] <= answered - pace or outstanding >= connections) then
    local id = queue[qhead][1]
    queue[qhead] = nil
    qhead = qhead + 1
    ftail = ftail + 1
    inflight[ftail] = {{id, answered}}
    open_fetch[id] = true
    return wrk.format("PUT", "/_api/job/" .. id)
  end
  submitted_sent = submitted_sent + 1
  return submit_request
end
function response(status, headers, body)
  answered = answered + 1
  if status == 202 then
    submitted = submitted + 1
    qtail = qtail + 1
    queue[qtail] = {{headers["x-arango-async-id"], answered}}
  elseif status == 200 then
    ok = ok + 1
    open_fetch[headers["x-arango-async-id"]] = nil
  elseif status == 204 then
    polls = polls + 1
  else
    other = other + 1
  end
  while fhead <= ftail and inflight[fhead][2] < answered - 4 * connections do
    local id = inflight[fhead][1]
    inflight[fhead] = nil
    fhead = fhead + 1
    if open_fetch[id] then
      open_fetch[id] = nil
      qtail = qtail + 1
      queue[qtail] = {{id, answered}}
    end
  end
end
"""
    + _REPORT
)

SCRIPTS = {
    "baseline": BASELINE,
    "submit": SUBMIT,
    "fetch": FETCH,
    "lifecycle": LIFECYCLE,
}
