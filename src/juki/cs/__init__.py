"""The city's 住基ネット server (市町村CS): a component of its own.

It keeps the 本人確認情報ファイル (the 36 items of policy/data/identity_info_items.csv per person, current and
history, in 更新順番号 order), fed only by the register's events (docs/events.md) through the outbox with a
cursor of its own, in a database of its own; and it notifies the prefecture server of every change
(住基法30条の6) over mutual TLS. It never reads or writes the register's tables.
"""
