"""The AWS APIs the platform uses (S3, KMS, Secrets Manager, SSM...), emulated: a moto server
process locally, a LocalStack container on docker; clients come from a session bound to it.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, overload

import boto3
import botocore.session
from botocore.config import Config

from harness._process import ManagedProcess, ServiceUser, reachable_by, service_user
from harness._reaper import owned_run
from harness._wait import Deadline, wait_until
from harness.backends import Backend
from harness.errors import HarnessError, ServiceError
from harness.lifecycle import BackendChoice, Service
from harness.ports import claim_port
from harness.services._docker import require_docker, wait_for_container

if TYPE_CHECKING:
    from mypy_boto3_kms.client import KMSClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.service_resource import S3ServiceResource
    from mypy_boto3_secretsmanager.client import SecretsManagerClient
    from mypy_boto3_ssm.client import SSMClient
    from testcontainers.community.localstack import LocalStackContainer

__all__ = [
    "DUMMY_CREDENTIALS",
    "LOCALSTACK_PINNED_IMAGE",
    "AwsService",
    "DockerAws",
    "LocalAws",
    "localstack_image",
]

DEFAULT_REGION = "us-east-1"
#: What every client of the emulator signs with; neither moto nor LocalStack checks them.
DUMMY_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}
#: The last LocalStack image that starts without LOCALSTACK_AUTH_TOKEN.
LOCALSTACK_PINNED_IMAGE = "localstack/localstack:4.14.0"
LOCALSTACK_TOKEN_IMAGE = "localstack/localstack:latest"
_LOCALSTACK_PORT = 4566

# The emulator process must never see the caller's real credentials or profiles.
_SCRUBBED_ENV = {
    "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIALS["aws_access_key_id"],
    "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIALS["aws_secret_access_key"],
    "AWS_SESSION_TOKEN": DUMMY_CREDENTIALS["aws_session_token"],
    "AWS_SECURITY_TOKEN": DUMMY_CREDENTIALS["aws_session_token"],
    "AWS_PROFILE": "default",
    "AWS_DEFAULT_PROFILE": "default",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN": "",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def localstack_image(environ: dict[str, str] | None = None) -> tuple[str, str | None]:
    """(image, auth token): images after 4.14.0 need LOCALSTACK_AUTH_TOKEN; without one, pin."""
    env = os.environ if environ is None else environ
    token = env.get("LOCALSTACK_AUTH_TOKEN") or None
    return (LOCALSTACK_TOKEN_IMAGE if token else LOCALSTACK_PINNED_IMAGE), token


def _moto_user(directory: Path) -> tuple[ServiceUser | None, str]:
    """Who runs moto, and why.

    The service user when the harness is root and that user can reach this interpreter,
    its standard library, moto and the service's directory; otherwise the current user.
    moto is pure Python from the harness' own environment, listens on loopback only and
    keeps its state in memory, so running it as the test process' user adds nothing the
    test process cannot already do.
    """
    user = service_user()
    if user is None:
        return None, "not root: moto runs as the current user"
    import moto

    needed = [
        Path(os.path.realpath(sys.executable)).parent,
        Path(os.__file__).parent,
        Path(moto.__file__).parent,
        directory,
    ]
    blocked = [str(path) for path in needed if not reachable_by(path, user)]
    if blocked:
        return None, (
            f"moto runs as root: {user.name} cannot reach {', '.join(blocked)} "
            "(install the harness outside a 0700 home to run it unprivileged)"
        )
    return user, f"moto runs as {user.name}"


class AwsService(BackendChoice, Service):
    """The AWS emulator with one interface on every backend: `AwsService()` is LocalAws
    (moto), `AwsService(backend="docker")` DockerAws (LocalStack).

    Clients must go to `endpoint_url`: use `client(name)` / `resource(name)`, or
    `session()` and pass `endpoint_url` yourself. `reset()` empties every service.
    """

    kind = "aws"
    _variants: ClassVar[dict[Backend, str]] = {
        Backend.LOCAL: "harness.services.aws:LocalAws",
        Backend.DOCKER: "harness.services.aws:DockerAws",
    }

    def __init__(
        self,
        name: str = "aws",
        *,
        port: int | None = None,
        region: str = DEFAULT_REGION,
        image: str | None = None,
        backend: str | Backend | None = None,
    ) -> None:
        """`port`: a fixed port (PortError when taken), else a free one; `image`: the
        LocalStack image (docker only; default from localstack_image())."""
        super().__init__()
        self.name = name
        self.region = region
        self._requested_port = port
        self.image = image

    # -- what a variant provides (no abc: the public class must be instantiable) --------
    @property
    def endpoint_url(self) -> str:
        """http://host:port every client of the emulator is sent to."""
        raise NotImplementedError

    def reset(self) -> None:
        """Drop every resource of every service: per-test isolation on a shared emulator."""
        raise NotImplementedError

    def _wait(self, check: Callable[[], object], deadline: Deadline, condition: str) -> None:
        """wait_until with what this variant knows (its process, its log)."""
        raise NotImplementedError

    @property
    def label(self) -> str:
        return f"aws {self.name}"

    @property
    def endpoint(self) -> str:
        return self.endpoint_url.split("://", 1)[-1]

    @property
    def url(self) -> str:
        return self.endpoint_url

    def session(self) -> boto3.Session:
        """A boto3 session with dummy credentials and this region (not bound to the endpoint:
        pass endpoint_url=... to its clients, or use client() / resource()).

        It reads neither AWS_PROFILE nor ~/.aws: a developer's profile (missing here, or
        pointing at real accounts) must not change what a test talks to.
        """
        hermetic = botocore.session.Session(
            session_vars={
                "profile": (None, None, None, None),
                "config_file": (None, None, os.devnull, None),
                "credentials_file": (None, None, os.devnull, None),
            }
        )
        return boto3.Session(
            botocore_session=hermetic,
            aws_access_key_id=DUMMY_CREDENTIALS["aws_access_key_id"],
            aws_secret_access_key=DUMMY_CREDENTIALS["aws_secret_access_key"],
            aws_session_token=DUMMY_CREDENTIALS["aws_session_token"],
            region_name=self.region,
        )

    def _client_kwargs(self, service_name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        if service_name == "s3":
            # Path-style: virtual-host buckets would need DNS for bucket.localhost.
            path_style = Config(s3={"addressing_style": "path"})
            given = kwargs.get("config")
            kwargs["config"] = path_style.merge(given) if given is not None else path_style
        return kwargs

    @overload
    def client(self, service_name: Literal["s3"], **kwargs: Any) -> S3Client: ...
    @overload
    def client(self, service_name: Literal["kms"], **kwargs: Any) -> KMSClient: ...
    @overload
    def client(
        self, service_name: Literal["secretsmanager"], **kwargs: Any
    ) -> SecretsManagerClient: ...
    @overload
    def client(self, service_name: Literal["ssm"], **kwargs: Any) -> SSMClient: ...
    @overload
    def client(self, service_name: str, **kwargs: Any) -> Any: ...

    def client(self, service_name: str, **kwargs: Any) -> Any:
        """A boto3 client of `service_name` sent to the emulator; kwargs go to Session.client."""
        session: Any = self.session()
        return session.client(service_name, **self._client_kwargs(service_name, kwargs))

    @overload
    def resource(self, service_name: Literal["s3"], **kwargs: Any) -> S3ServiceResource: ...
    @overload
    def resource(self, service_name: str, **kwargs: Any) -> Any: ...

    def resource(self, service_name: str, **kwargs: Any) -> Any:
        """A boto3 resource of `service_name` sent to the emulator."""
        session: Any = self.session()
        return session.resource(service_name, **self._client_kwargs(service_name, kwargs))

    def localstack_session(self) -> Any:
        """A localstack_client Session aimed at this emulator (moto or LocalStack alike).

        localstack-client sends every service to one edge endpoint, `localstack_host`;
        note that it prefers AWS_ENDPOINT_URL from the environment when that is set.
        """
        from localstack_client.session import Session as LocalstackSession

        return LocalstackSession(
            localstack_host=self.endpoint, region_name=self.region, **DUMMY_CREDENTIALS
        )

    def wait_ready(self, deadline: Deadline | None = None) -> None:
        deadline = deadline or Deadline.after(self.default_timeout)
        # A real call through botocore, without its retries: the poll loop is the retry.
        probe = self.client(
            "s3",
            config=Config(
                retries={"max_attempts": 1, "mode": "standard"},
                connect_timeout=0.5,
                read_timeout=5,
            ),
        )
        try:
            self._wait(probe.list_buckets, deadline, "S3 ListBuckets answered")
        finally:
            probe.close()

    def _post(self, path: str, what: str) -> None:
        request = urllib.request.Request(f"{self.endpoint_url}{path}", data=b"", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
        except (urllib.error.URLError, OSError) as exc:
            raise ServiceError(
                f"{self.label} at {self.endpoint}: {what} failed: {exc}",
                service=self.label,
                endpoint=self.endpoint,
            ) from exc


class LocalAws(AwsService):
    """`python -m moto.server` on a claimed loopback port (see _moto_user for who runs it)."""

    def __init__(
        self,
        name: str = "aws",
        *,
        port: int | None = None,
        region: str = DEFAULT_REGION,
        image: str | None = None,
        backend: str | Backend | None = None,
    ) -> None:
        super().__init__(name, port=port, region=region)
        self._port: int | None = None
        self.process: ManagedProcess | None = None
        self.run_as = ""

    @property
    def port(self) -> int:
        if self._port is None:
            raise HarnessError(f"{self.label} has no port yet: start() it first")
        return self._port

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _start(self, deadline: Deadline) -> None:
        claim = claim_port(self._requested_port)
        self.on_stop(f"release port {claim.port}", claim.release)
        self._port = claim.port
        directory = owned_run().path("aws", f"{self.name}-{claim.port}")
        user, self.run_as = _moto_user(directory)
        log_path = directory / "moto.log"
        with log_path.open("a") as log:
            log.write(f"harness: {self.run_as}\n")
        # moto builds botocore sessions of its own: give them an empty default profile
        # instead of the caller's ~/.aws files.
        aws_config = directory / "aws-config"
        aws_config.write_text(f"[default]\nregion = {self.region}\n")
        env = dict(
            _SCRUBBED_ENV,
            AWS_CONFIG_FILE=str(aws_config),
            AWS_SHARED_CREDENTIALS_FILE=str(aws_config),
            AWS_DEFAULT_REGION=self.region,
            AWS_REGION=self.region,
        )
        self.process = ManagedProcess(
            self.label,
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(claim.port)],
            log_path=log_path,
            env=env,
            cwd=directory if user is None else Path("/"),
            user=user,
        )
        self.process.start()
        self.on_stop(f"stop {self.label} (pid {self.process.pid})", self.process.stop)

    def _wait(self, check: Callable[[], object], deadline: Deadline, condition: str) -> None:
        wait_until(
            check,
            deadline=deadline,
            service=self.label,
            endpoint=self.endpoint,
            condition=condition,
            process=self.process,
        )

    def reset(self) -> None:
        """moto's POST /moto-api/reset: every backend of every account and region."""
        self._post("/moto-api/reset", "POST /moto-api/reset")


class DockerAws(AwsService):
    """LocalStack in a testcontainers LocalStackContainer.

    With LOCALSTACK_AUTH_TOKEN set, the current image gets the token; without one the image
    is pinned to 4.14.0, the last that starts without it.
    """

    def __init__(
        self,
        name: str = "aws",
        *,
        port: int | None = None,
        region: str = DEFAULT_REGION,
        image: str | None = None,
        backend: str | Backend | None = None,
    ) -> None:
        super().__init__(name, port=port, region=region)
        default_image, self._token = localstack_image()
        self.image: str = image or default_image
        self.container: LocalStackContainer | None = None
        self._endpoint_url: str | None = None

    @property
    def endpoint_url(self) -> str:
        if self._endpoint_url is None:
            raise HarnessError(f"{self.label} has no endpoint yet: start() it first")
        return self._endpoint_url

    def _start(self, deadline: Deadline) -> None:
        require_docker()
        try:
            from testcontainers.community.localstack import LocalStackContainer
        except ImportError:  # testcontainers before the community namespace
            from testcontainers.localstack import LocalStackContainer

        run = owned_run()
        container = LocalStackContainer(image=self.image, region_name=self.region)
        if self._token:
            container.with_env("LOCALSTACK_AUTH_TOKEN", self._token)
        container.with_env("HARNESS_RUN_ID", run.id)
        container.with_kwargs(labels={"harness.run-id": run.id, "harness.service": self.label})
        if self._requested_port is not None:
            container.with_bind_ports(_LOCALSTACK_PORT, self._requested_port)
        self.on_stop(f"remove the {self.label} container", container.stop)
        self.container = container
        container.start(timeout=max(deadline.remaining(), 1.0))
        self._endpoint_url = container.get_url()

    def _wait(self, check: Callable[[], object], deadline: Deadline, condition: str) -> None:
        wait_for_container(
            check,
            container=self.container,
            deadline=deadline,
            service=self.label,
            endpoint=self.endpoint,
            condition=condition,
        )

    def reset(self) -> None:
        """LocalStack's POST /_localstack/state/reset: every service's state."""
        self._post("/_localstack/state/reset", "POST /_localstack/state/reset")
