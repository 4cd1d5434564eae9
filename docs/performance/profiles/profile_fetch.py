# Profile fetch: submit for 10 s, then py-spy the server while wrk fetches those jobs.
# Usage: PYTHONPATH=. python docs/performance/profiles/profile_fetch.py OUT.txt
import subprocess, sys, time
from eventjobs.bench.server import running_server
from eventjobs.bench.wrk import run_load
from eventjobs.bench.http_figures import wait_idle
from eventjobs.bench.machine import split_cores
s, c = split_cores()
with running_server(s) as srv:
    made = run_load("wrk", "submit", srv.url, connections=50, seconds=10, cores=c); wait_idle(srv)
    spy = subprocess.Popen(["py-spy", "record", "-p", str(srv.process.pid), "-r", "250", "-d", "5",
                            "--format", "raw", "-o", sys.argv[1]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    r = run_load("wrk", "fetch", srv.url, connections=50, seconds=5, args=(str(made.first), str(made.last)), cores=c)
    spy.wait()
    print("fetch", r.rate, r.ok, r.ranout, r.p50_ms)
