"""The 情報提供ネットワークシステム and the requesting bodies, simulated (`juki sim info-network`): one real HTTPS
server with mutual TLS from its own test CA, which the city's 中間サーバー polls for 符号 and 照会 and answers.

pki.py makes the CA and the certificates in the data folder; store.py keeps serials, 符号, inboxes, 照会 and
answers (SQLite in the data folder); app.py is the HTTP API; server.py runs it; query.py is a requesting body's
side (`juki sim info-network query`); jlis_link.py is J-LIS's side (the 符号 asked for through the 住基ネット). The
wire is juki.intermediate.wire's; docs/intermediate-server.md describes it for people.
"""

from juki.sim.info_network.server import Running, restart, serve, start_in_thread

__all__ = ["Running", "restart", "serve", "start_in_thread"]
