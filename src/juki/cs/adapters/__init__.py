"""The CS's adapters: its own tables and migrations, its own database and key file."""
