"""``eventjobs job ...``: a command-line client for a running server.

It speaks only HTTP to the server, through the standard library
(:mod:`http.client`), so it adds no dependency and imports nothing of the
server side: :mod:`.connection` is the transport, :mod:`.api` the job API's
answers as values and exceptions, :mod:`.display` the spinner and progress
bar, :mod:`.commands` the argument parsing, output and exit codes
(docs/cli-client.md).
"""
