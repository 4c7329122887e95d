"""The 中間サーバー's adapters: its own database, tables and migrations, and its key file."""
