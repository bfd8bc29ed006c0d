"""The card agent: a terminal's card reader bridged to a web page (docs/card-agent.md).

A small HTTP service on 127.0.0.1 that pages of the allowed origins call with
``fetch()``: the card's status, its JPKI certificates, and signatures by the card (the
user-authentication key for a sign-in bound to the page's origin, the signing key for a
document). The PIN goes from the page to this process and on to the card only.

``guard`` is the bridge's own security (Host, Origin, CORS and Private Network Access),
``protocol`` the requests and answers, ``card`` the steps on the card through PC/SC,
``app`` the routes, ``server`` the process; ``browser/card-agent.js`` the page's side.
"""
