"""The 中間サーバー's rules, pure Python: no database, no network, no clock of their own."""
