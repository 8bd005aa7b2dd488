"""Identity: the built-in OpenID Connect issuer and the verification of every access token.

Issuer side (used by `pulse/api/routes/oauth.py`): `keys` (signing keys, rotation), `users`,
`passwords`, `throttle` (login rate limits), `codes` (authorization codes with PKCE), `refresh`
(rotating refresh tokens), `api_clients` (client credentials for scripts), `tokens` (claims).
Resource side (used by `pulse/api/deps.py`): `verify` (issuers, JWKS cache) and `principal`.
"""
