"""A gateway simulator: many licence gateways in one process, each with its key, its phones and its state."""
