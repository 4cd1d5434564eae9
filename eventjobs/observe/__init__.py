"""What an operator watches: Prometheus metrics (:mod:`.metrics`), one log
line per job transition (:mod:`.transitions`) and the log formats of
``eventjobs serve`` (:mod:`.logformat`). See docs/operations.md.

Everything here is fed by the journal writer's hooks (each event as it is
applied, each append as it completes) rather than by calls spread through
the code, so what is counted and logged is exactly what is recorded.
"""
