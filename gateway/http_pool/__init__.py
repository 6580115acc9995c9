"""The transport under ``gateway.http``: keep-alive connections on asyncio
protocols, their answers parsed by httptools (C), pooled per event loop,
and the failures they report.

A ``Connection`` carries one exchange at a time; httptools calls its
``on_*`` methods as it parses, and the answer's state lives on it until the
exchange ends (``finish``): back to the ``Pool`` when the answer was read to
its end on a connection that stays open, else closed. A ``Pool`` caps the
open connections (``UPSTREAM_MAX_CONNECTIONS``), drops idle ones after
``KEEPALIVE_SECONDS``, verifies TLS (``tls_context``) and opens connections
through an egress proxy when the key names one (``gateway.proxies``: to the
proxy itself for http, a CONNECT tunnel and TLS inside it for https).

By concern: ``failures.py`` (what the transport reports), ``connection.py``
(one connection and its parser callbacks), ``pool.py`` (the pool, TLS and
proxy tunnels).
"""
