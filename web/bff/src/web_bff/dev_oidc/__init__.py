"""A small development OpenID provider (discovery, authorize with a demo-user picker, token, JWKS).

It signs with the development issuer's key (`shared.dev_issuer`), so the services accept its access tokens
in a local run. Never for production: anyone who can reach it can sign in as anyone.
"""
