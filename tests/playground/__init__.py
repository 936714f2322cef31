"""The playground: server, access, hostile clients, load and the real browser."""
