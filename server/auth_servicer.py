"""The AuthService servicer: trades an API key (or nothing, in open mode) for a token."""

from __future__ import annotations

import logging

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from fnplane.server.auth import OPEN_SUBJECT, Auth
from fnplane.server.calls import Caller
from fnplane.server.domain import DEFAULT_NAMESPACE
from fnplane.server.errors import FnplaneError, Unauthenticated
from fnplane.server.status import to_status
from fnplane.v1 import auth_pb2 as pb
from fnplane.v1 import auth_pb2_grpc

log = logging.getLogger("fnplane.auth")


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    """Issues tokens: for the default namespace in open mode, for a key's namespace else."""

    def __init__(self, auth: Auth) -> None:
        self._auth = auth

    def IssueToken(
        self, request: pb.IssueTokenRequest, context: grpc.ServicerContext
    ) -> pb.IssueTokenResponse:
        try:
            caller = self._caller(request.api_key)
            self._auth.admit(caller)
        except FnplaneError as error:
            context.abort_with_status(to_status(error))
        issued = self._auth.signer.issue(caller)
        log.info("token issued to %s for namespace %s", caller.subject, caller.namespace)

        expires_at = Timestamp()
        expires_at.FromDatetime(issued.expires_at)
        return pb.IssueTokenResponse(
            token=issued.token,
            expires_at=expires_at,
            expires_in=issued.lifetime_seconds,
            namespace=caller.namespace,
        )

    def _caller(self, api_key: str) -> Caller:
        if self._auth.open:
            # In open mode a key proves nothing: every caller is the same anonymous one.
            return Caller(subject=OPEN_SUBJECT, namespace=DEFAULT_NAMESPACE)
        if not api_key:
            raise Unauthenticated(
                "api_key: required; this server issues tokens only for a configured API key"
            )
        caller = self._auth.keys.caller_for(api_key)
        if caller is None:
            raise Unauthenticated("api_key: not a key this server knows")
        return caller
