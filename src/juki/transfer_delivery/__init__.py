"""庁内連携's other delivery methods: files (差分・全件, CSV with a manifest) and a push over NATS JetStream.

The pull API (`juki.services.transfer_feed`, `juki.transfer.policy`) decides what each department system may
receive; this package only delivers exactly that, by another channel (docs/transfer-files-and-push.md).
"""
