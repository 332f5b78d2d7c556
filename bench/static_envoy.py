"""The REST transport ceiling: Envoy answering fixed bodies itself, with nothing behind it.

Each body is a real REST answer captured from fnplane, so the ceiling moves the same bytes as
the call it is compared with; the difference is transcoding, the Lua filter, the hop to the
gRPC server and the server's own work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3"
ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"


def config(*, port: int, admin_port: int, bodies: dict[str, Path]) -> str:
    """Answers an Envoy configuration serving each file of `bodies` at its path (as JSON)."""
    routes: list[dict[str, Any]] = [
        {
            "match": {"path": path},
            "direct_response": {"status": 200, "body": {"filename": str(file)}},
            "response_headers_to_add": [
                {
                    "header": {"key": "content-type", "value": "application/json"},
                    "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                }
            ],
        }
        for path, file in bodies.items()
    ]
    largest = max([4096, *(file.stat().st_size for file in bodies.values())])
    manager = {
        "@type": f"{HCM}.HttpConnectionManager",
        "stat_prefix": "static",
        "codec_type": "AUTO",
        "http2_protocol_options": {},
        "route_config": {
            "name": "static",
            "max_direct_response_body_size_bytes": largest,
            "virtual_hosts": [{"name": "static", "domains": ["*"], "routes": routes}],
        },
        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {"@type": ROUTER}}],
    }
    document = {
        "admin": {
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}
        },
        "static_resources": {
            "listeners": [
                {
                    "name": "static",
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
                    "filter_chains": [
                        {
                            "filters": [
                                {
                                    "name": "envoy.filters.network.http_connection_manager",
                                    "typed_config": manager,
                                }
                            ]
                        }
                    ],
                }
            ]
        },
    }
    return str(yaml.safe_dump(document, sort_keys=False))
