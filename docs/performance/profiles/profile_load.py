# Profile the server under one kind of wrk load with py-spy (raw stacks).
# Usage: PYTHONPATH=. python docs/performance/profiles/profile_load.py KIND OUT.txt [LUA ARGS]
"""Profile the server under one kind of wrk load with py-spy (raw stacks)."""
import subprocess, sys, time, threading
from eventjobs.bench.server import running_server
from eventjobs.bench.wrk import run_load
from eventjobs.bench.http_figures import wait_idle
from eventjobs.bench.machine import split_cores
kind, out = sys.argv[1], sys.argv[2]
args = tuple(sys.argv[3:])
s, c = split_cores()
with running_server(s) as srv:
    run_load("wrk", "baseline", srv.url, connections=50, seconds=2, cores=c)
    spy = subprocess.Popen(["py-spy", "record", "-p", str(srv.process.pid), "-r", "250", "-d", "8",
                            "--format", "raw", "-o", out],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    r = run_load("wrk", kind, srv.url, connections=50, seconds=8, args=args, cores=c)
    spy.wait()
    print(kind, r.rate, r.requests, r.polls, r.p50_ms, r.p99_ms)
