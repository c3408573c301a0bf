"""AwsService: backend choice, image pinning and client wiring without a server; then a real
moto server (S3 with SSE-KMS, Secrets Manager, SSM, localstack-client, reset) and LocalStack."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import psutil
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from harness.errors import DockerUnavailableError, HarnessError, PortError, UnknownBackendError
from harness.ports import port_is_free
from harness.services._docker import docker_unavailable_reason
from harness.services.aws import (
    LOCALSTACK_PINNED_IMAGE,
    AwsService,
    DockerAws,
    LocalAws,
    localstack_image,
)

# -- without a server ----------------------------------------------------------------------


def test_backend_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_BACKEND", raising=False)
    local = AwsService(region="eu-west-1")
    assert type(local) is LocalAws and local.region == "eu-west-1"
    assert type(AwsService(backend="docker")) is DockerAws
    with pytest.raises(UnknownBackendError):
        AwsService(backend="nope")


def test_localstack_image_is_pinned_without_a_token() -> None:
    assert localstack_image({}) == (LOCALSTACK_PINNED_IMAGE, None)
    assert LOCALSTACK_PINNED_IMAGE == "localstack/localstack:4.14.0"
    image, token = localstack_image({"LOCALSTACK_AUTH_TOKEN": "ls-abc"})
    assert token == "ls-abc" and image != LOCALSTACK_PINNED_IMAGE


def test_docker_variant_picks_its_image(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCALSTACK_AUTH_TOKEN", raising=False)
    assert AwsService(backend="docker").image == LOCALSTACK_PINNED_IMAGE
    assert AwsService(backend="docker", image="localstack/localstack:3.8").image == (
        "localstack/localstack:3.8"
    )


def test_docker_variant_needs_an_engine() -> None:
    reason = docker_unavailable_reason()
    if reason is None:
        pytest.skip("a Docker engine answers here")
    with pytest.raises(DockerUnavailableError, match="Docker engine"):
        AwsService(backend="docker").start()


def test_session_has_dummy_credentials_and_the_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "a-profile-this-machine-does-not-have")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALREALREAL")
    session = AwsService(region="eu-central-1").session()
    credentials = session.get_credentials()
    assert credentials is not None
    assert credentials.access_key == "testing" and credentials.secret_key == "testing"
    assert session.region_name == "eu-central-1"


def test_no_endpoint_before_start() -> None:
    with pytest.raises(HarnessError, match="start"):
        _ = AwsService().endpoint_url


# -- a real moto server ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto() -> Iterator[AwsService]:
    with AwsService("moto-tests") as service:
        yield service


@pytest.fixture
def aws(moto: AwsService) -> AwsService:
    moto.reset()
    return moto


def _bucket() -> str:
    return f"test-{uuid.uuid4().hex[:16]}"


@pytest.mark.integration
def test_endpoint_is_loopback(aws: AwsService) -> None:
    assert isinstance(aws, LocalAws)
    assert aws.endpoint_url == f"http://127.0.0.1:{aws.port}" == aws.url
    assert aws.endpoint == f"127.0.0.1:{aws.port}"


@pytest.mark.integration
def test_s3_with_sse_kms(aws: AwsService) -> None:
    key_id = aws.client("kms").create_key(Description="uploads")["KeyMetadata"]["KeyId"]
    s3 = aws.client("s3")
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(
        Bucket=bucket,
        Key="uploads/a.txt",
        Body=b"secret payload",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=key_id,
    )
    got = s3.get_object(Bucket=bucket, Key="uploads/a.txt")
    assert got["Body"].read() == b"secret payload"
    assert got["ServerSideEncryption"] == "aws:kms"
    assert key_id in got["SSEKMSKeyId"]


@pytest.mark.integration
def test_resource_api(aws: AwsService) -> None:
    s3 = aws.resource("s3")
    bucket = s3.create_bucket(Bucket=_bucket())
    bucket.put_object(Key="k", Body=b"v")
    assert [o.key for o in bucket.objects.all()] == ["k"]


@pytest.mark.integration
def test_caller_config_is_kept_with_path_style(aws: AwsService) -> None:
    s3 = aws.client("s3", config=Config(read_timeout=7))
    config = s3.meta.config  # botocore's stubs do not declare Config's options
    assert getattr(config, "s3", None) == {"addressing_style": "path"}
    assert getattr(config, "read_timeout", None) == 7


@pytest.mark.integration
def test_secrets_manager(aws: AwsService) -> None:
    client = aws.client("secretsmanager")
    client.create_secret(Name="staging/db", SecretString='{"password": "hunter2"}')
    assert client.get_secret_value(SecretId="staging/db")["SecretString"] == (
        '{"password": "hunter2"}'
    )


@pytest.mark.integration
def test_ssm_parameters(aws: AwsService) -> None:
    client = aws.client("ssm")
    client.put_parameter(Name="/staging/feature", Value="on", Type="SecureString")
    value = client.get_parameter(Name="/staging/feature", WithDecryption=True)["Parameter"]
    assert value["Value"] == "on"


@pytest.mark.integration
def test_localstack_client_against_moto(aws: AwsService, monkeypatch: pytest.MonkeyPatch) -> None:
    # localstack-client prefers AWS_ENDPOINT_URL over localstack_host when it is set.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    session = aws.localstack_session()
    s3 = session.client("s3")
    assert s3.meta.endpoint_url == aws.endpoint_url
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    assert bucket in [b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]]
    # The module's own entry point, given the edge host by hand, reaches the same server.
    from localstack_client.session import Session

    ssm = Session(localstack_host=aws.endpoint).client("ssm")
    ssm.put_parameter(Name="p", Value="v", Type="String")
    assert aws.client("ssm").get_parameter(Name="p")["Parameter"]["Value"] == "v"


@pytest.mark.integration
def test_reset_empties_everything(aws: AwsService) -> None:
    s3 = aws.client("s3")
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    aws.client("secretsmanager").create_secret(Name="s", SecretString="x")
    aws.reset()
    assert s3.list_buckets()["Buckets"] == []
    with pytest.raises(ClientError, match="ResourceNotFound"):
        aws.client("secretsmanager").get_secret_value(SecretId="s")


@pytest.mark.integration
def test_real_credentials_do_not_reach_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALREALREAL")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-secret-never-leak")
    monkeypatch.setenv("AWS_PROFILE", "production")
    with AwsService("scrubbed") as service:
        assert isinstance(service, LocalAws) and service.process is not None
        assert service.process.pid is not None
        environ = psutil.Process(service.process.pid).environ()
        assert "real-secret-never-leak" not in environ.values()
        assert "AKIAREALREALREAL" not in environ.values()
        assert environ["AWS_PROFILE"] == "default"
        # moto's own botocore sessions still work (no missing "production" profile).
        with pytest.raises(ClientError, match="NoSuchBucket"):
            service.client("s3").get_object(Bucket="missing-bucket", Key="k")


@pytest.mark.integration
def test_taken_port_is_a_port_error() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortError):
            AwsService(port=port).start()


@pytest.mark.integration
def test_after_stop_the_process_and_port_are_gone() -> None:
    service = AwsService("short-lived").start()
    assert isinstance(service, LocalAws) and service.process is not None
    pid, port = service.process.pid, service.port
    assert pid is not None
    assert service.run_as  # who runs moto, and why, is recorded (and in its log)
    assert service.run_as in service.process.log_tail(50)
    service.stop()
    service.stop()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert port_is_free(port)


# -- LocalStack -----------------------------------------------------------------------------


@pytest.fixture
def docker_engine() -> None:
    reason = docker_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)


@pytest.mark.integration
@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.usefixtures("docker_engine")
def test_localstack_same_interface() -> None:
    with AwsService("localstack", backend="docker") as service:
        assert isinstance(service, DockerAws)
        key_id = service.client("kms").create_key()["KeyMetadata"]["KeyId"]
        s3 = service.client("s3")
        bucket = _bucket()
        s3.create_bucket(Bucket=bucket)
        s3.put_object(
            Bucket=bucket, Key="k", Body=b"v", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id
        )
        assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
        assert service.localstack_session().client("s3").list_buckets()["Buckets"]
        service.reset()
        assert s3.list_buckets()["Buckets"] == []
