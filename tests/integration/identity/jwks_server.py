"""A second, independently keyed OIDC issuer for tests: its own RSA key, a discovery document and a
JWKS served over real HTTP on a free loopback port (stdlib server in a thread)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


class ExternalIssuer:
    def __init__(self) -> None:
        self.keys: list[tuple[str, rsa.RSAPrivateKey]] = []
        self.jwks_requests = 0
        self.add_key("ext-1")
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/realms/pulse/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/protocol/openid-connect/certs"}
                elif self.path == "/realms/pulse/protocol/openid-connect/certs":
                    issuer.jwks_requests += 1
                    body = issuer.jwks()
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/realms/pulse"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def add_key(self, kid: str) -> None:
        self.keys.append((kid, rsa.generate_private_key(public_exponent=65537, key_size=2048)))

    def jwks(self) -> dict:
        out = []
        for kid, key in self.keys:
            jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
            out.append(jwk)
        return {"keys": out}

    def token(self, *, audience: str = "pulse-api", kid: str | None = None, **claims) -> str:
        kid, key = next((k for k in self.keys if k[0] == kid), self.keys[-1]) if kid else self.keys[-1]
        now = int(time.time())
        body = {"iss": self.url, "sub": "kc-user-1", "aud": audience, "iat": now, "exp": now + 300}
        body.update(claims)
        return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
