"""The local host: the function app plus the development stand-ins, on loopback.

Used by ``python -m devhost serve`` and, in-process, by the end-to-end tests. It only sets
settings (environment variables) that point the production code at the stand-ins; the
suite itself runs unchanged.
"""

from __future__ import annotations

import importlib
import os
import threading
from pathlib import Path
from typing import Any

from devhost.entra import API_CLIENT_ID, EntraStandIn, TokenIssuer, issuer_template, issuer_v1_template, jwks_url
from devhost.standin import Request, Response, make_server, serve_in_thread
from shared.schedules import NIGHTLY_EVALUATION

ROOT = Path(__file__).resolve().parent.parent
MSA_CLIENT_ID = "00000000-0000-0000-0000-00000000c1d0"
LOCAL_EVALUATION_SCHEDULE = NIGHTLY_EVALUATION


class LocalHost:
    def __init__(self, *, port: int = 7071, data_dir: Path, bind: str = "127.0.0.1", tls_port: int = 0) -> None:
        self.data_dir = data_dir.resolve()
        self._bind = bind
        self._port = port
        self._tls_port = tls_port
        self._saved_env: dict[str, str | None] = {}
        self._threads: list[threading.Thread] = []
        self.function_host: Any = None
        self.graph: Any = None
        self.msa: Any = None
        self.issuer: TokenIssuer | None = None
        self.portal: Any = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        dev_dir = self.data_dir / "devhost"
        dev_dir.mkdir(exist_ok=True)
        self.issuer = TokenIssuer(dev_dir / "entra-signing-key.pem")
        from devhost.portal import DevSignIn, StaticSite

        self.portal = StaticSite()
        standins: list[Any] = [EntraStandIn(self.issuer), DevSignIn(self.issuer)]
        self.graph = self._graph_standin()
        if self.graph is not None:
            standins.append(self.graph)
        self._server = make_server(standins, host=self._bind, port=self._port, fallback=self._functions)
        self.port = self._server.server_address[1]
        self.base_url = f"http://localhost:{self.port}"
        self._tls_server = self._msa_server(dev_dir)
        self._configure(self._settings())
        from shared import bootstrap

        bootstrap.reset()
        from devhost.host import FunctionHost, HostConfig

        function_app = importlib.import_module("function_app")
        self.function_host = FunctionHost(
            function_app.app,
            queue=lambda: bootstrap.container().queue,
            config=HostConfig.from_host_json(ROOT / "host.json"),
        )
        self._threads.append(serve_in_thread(self._server))
        if self._tls_server is not None:
            self._threads.append(serve_in_thread(self._tls_server))
        self.function_host.start_background()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._tls_server is not None:
            self._tls_server.shutdown()
            self._tls_server.server_close()
        if self.function_host is not None:
            self.function_host.stop()
        from shared import bootstrap

        bootstrap.reset()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    # --- pieces ------------------------------------------------------------------------------

    def _functions(self, request: Request) -> Response:
        # /api/ is the function app; everything else the portal, as a Static Web App with
        # this function app as its linked backend answers (devhost/portal.py).
        if request.full_path.lstrip("/").split("/", 1)[0].lower() not in ("api", "admin"):
            return self.portal.handle(request)
        if self.function_host is None:
            return Response.json({"title": "Starting", "status": 503}, 503)
        response: Response = self.function_host.handle(request)
        return response

    def _graph_standin(self) -> Any:
        try:
            from devhost.graph import GraphStandIn
        except ImportError:
            return None
        return GraphStandIn(journal=self.data_dir / "devhost" / "graph-directory.jsonl")

    def _msa_server(self, dev_dir: Path) -> Any:
        try:
            from devhost.msa import MsaStandIn
            from devhost.tls import ensure_certificates
        except ImportError:
            self.tls_base_url = ""
            return None
        paths = ensure_certificates(dev_dir / "tls")
        self.msa = MsaStandIn(client_id=MSA_CLIENT_ID, client_secret=self._msa_secret(dev_dir))
        server = make_server([self.msa], host=self._bind, port=self._tls_port, tls_cert=paths.cert, tls_key=paths.key)
        self.tls_port = server.server_address[1]
        self.tls_base_url = f"https://localhost:{self.tls_port}"
        self.ca_bundle = paths.ca
        return server

    @staticmethod
    def _msa_secret(dev_dir: Path) -> str:
        path = dev_dir / "msa-client-secret"
        if not path.exists():
            import secrets

            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()

    def _settings(self) -> dict[str, str]:
        values = {
            # What local.settings.json would hold: a trigger's %EVALUATION_SCHEDULE% resolves
            # from app settings only (an unset one stops start-up, as in Azure).
            "EVALUATION_SCHEDULE": os.environ.get("EVALUATION_SCHEDULE") or LOCAL_EVALUATION_SCHEDULE,
            "DATA_DIR": str(self.data_dir),
            "AUTH_ISSUER": issuer_template(self.base_url),
            "AUTH_ISSUER_V1": issuer_v1_template(self.base_url),
            "AUTH_CLIENT_ID": API_CLIENT_ID,
            "AUTH_JWKS_URL": jwks_url(self.base_url),
        }
        if self.graph is not None:
            values.update({"GRAPH_BASE_URL": f"{self.base_url}/_dev/graph/v1.0", "GRAPH_CREDENTIAL": "static"})
        if self.msa is not None:
            values.update(
                {
                    "MSA_AUTHORITY": f"{self.tls_base_url}/consumers",
                    "MSA_CLIENT_ID": MSA_CLIENT_ID,
                    "MSA_CLIENT_SECRET": self.msa.client_secret,
                    "MSA_REDIRECT_URI": f"{self.base_url}/api/msa/callback",
                    "MSA_CA_BUNDLE": str(self.ca_bundle),
                    "MSA_TENANT_ID": self.msa.tenant_id,
                }
            )
        return values

    def _configure(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def token(
        self, tenant_id: str, *, user_id: str | None = None, roles: tuple[str, ...] = (), upn: str | None = None, **kwargs: Any
    ) -> str:
        assert self.issuer is not None
        return self.issuer.mint(base_url=self.base_url, tenant_id=tenant_id, user_id=user_id, roles=roles, upn=upn, **kwargs)
