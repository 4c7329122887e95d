"""The city's 中間サーバー (intermediate_server) and its 団体内統合宛名 function (docs/intermediate-server.md).

A component of its own, layered like the register and the CS: `domain/` (pure rules: the unified number, the 副本
layout, the 照会許可照合リスト, the 情報提供等記録's chain), `services/` (intake from the register's outbox, the 符号,
answering 照会, the staff's functions, the relay), `adapters/` (its own database and key file). It is fed only by
the register's outbox and talks to the 情報提供ネットワークシステム through `wire.NetworkClient`.
"""
