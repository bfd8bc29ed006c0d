"""The resident card (R15–R19): an ISO 7816-4 chip with its applications.

The card knows nothing of the network or the nodes. Terminals talk to it through one
reader port (:mod:`jukinet.card.reader`): PC/SC in production, the in-process reader
in tests, both carrying the same APDU bytes. See ``docs/card.md``.
"""
