"""moto's S3 server on a loopback port, for the tests that read or write S3."""
from __future__ import annotations

import socket
from contextlib import contextmanager

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def moto_s3(*buckets: str):
    """moto's S3 on a loopback port, with the AWS variables pointing at it and
    the buckets created; yields the endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = pytest.MonkeyPatch()
    endpoint = f"http://127.0.0.1:{port}"
    env.setenv("AWS_ENDPOINT_URL", endpoint)
    env.setenv("AWS_ACCESS_KEY_ID", "testing")
    env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    env.setenv("AWS_DEFAULT_REGION", "us-east-1")
    env.delenv("AWS_PROFILE", raising=False)
    env.delenv("AWS_SESSION_TOKEN", raising=False)
    try:
        import boto3

        for bucket in buckets:
            boto3.client("s3").create_bucket(Bucket=bucket)
        yield endpoint
    finally:
        env.undo()
        server.stop()
