"""The 住基ネット beyond the city, simulated (`juki sim juki-net`): the prefecture server (都道府県サーバ), the
national server (全国サーバ, J-LIS) and another city's CS as one real HTTPS server with mutual TLS from a test
住基ネット CA.

pki.py makes the CA and the certificates in the data folder; checks.py is the prefecture's format and logic checks
of a notice; store.py keeps what it received (SQLite in the data folder); app.py is the HTTP API; server.py runs it.
The wire it answers is juki.cs.wire's; docs/juki-net-simulator.md describes it for people.
"""

from juki.sim.juki_net.server import Running, restart, serve, start_in_thread

__all__ = ["Running", "restart", "serve", "start_in_thread"]
