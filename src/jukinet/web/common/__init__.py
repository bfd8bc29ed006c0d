"""What every web interface shares (docs/ui.md): the app factory with its security
headers, sessions, CSRF and error pages; the message catalogue; operator sign-in with
a password and a WebAuthn operator card; serving on the app's own TLS port."""
