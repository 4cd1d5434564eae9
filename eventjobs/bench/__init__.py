"""The benchmark harness: ``python -m eventjobs.bench`` (see docs/performance.md).

It measures eventjobs against the limit of the stack it runs on, in the same
run: a real server process (hypercorn, trio worker, file journal with fsync)
pinned to one core, driven by a load generator pinned to another. The
modules, one concept each:

- :mod:`.stats`: a figure as the median, min and max of several runs.
- :mod:`.machine`: which cores to pin to, and the machine description.
- :mod:`.server`: the server process under test.
- :mod:`.load`: what one load run reports, whichever generator ran it.
- :mod:`.lua`, :mod:`.wrk`: the wrk load generator and its Lua scripts.
- :mod:`.pyload`: the Python fallback load generator (client-bound).
- :mod:`.http_figures`: baseline, submit, fetch and lifecycle through HTTP.
- :mod:`.cancel`: cancel request to stored 410.
- :mod:`.sample_events`: an echo job's events, for the non-HTTP benchmarks.
- :mod:`.replay`: rebuilding the views from a large journal.
- :mod:`.journal_load`: durable appends with group commit.
- :mod:`.report`: the table and the chart.
- :mod:`.cluster`, :mod:`.cpu`, :mod:`.scaling`: the scaling scenario
  (``--scaling``): N server processes on one PostgreSQL journal against the
  file journal's one, and how the machine's CPU was shared meanwhile.
- :mod:`.startup`, :mod:`.memory`, :mod:`.long_running`,
  :mod:`.cluster_failover`: the stand-alone scenarios
  (``python -m eventjobs.bench SCENARIO``), each with its own options and
  figures; :mod:`.busy` is the CPU-bound work of the long-running one.
- :mod:`.options`: option types shared by the commands.
- :mod:`.cli`: the command, which runs everything in order, or one scenario.

It sits above every other layer: it starts the server as a separate process
and drives the journal and writer directly; nothing imports it.
"""
