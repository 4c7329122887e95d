"""The 中間サーバー's services: they orchestrate the domain rules over its store and the network's port."""
