"""The CS's services: intake (register events → the file and the queue), delivery (the queue → the prefecture),
errors (the operator's error queue), comparison (j1100: the file against the register)."""
