"""The network: PKI, mutually authenticated transport, the signed directory, the outbox."""
