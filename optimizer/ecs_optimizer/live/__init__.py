"""Reading and writing AWS: the session and clients, targets, discovery, inventory, metrics and the resources the optimizer tunes."""
