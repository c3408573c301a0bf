"""Scenario: the staging data tier stands up locally and behaves like the real services.

The app's stores (RDS PostgreSQL, ElastiCache Redis, S3 with KMS, Secrets Manager) are
real local processes; these steps are the ones the platform's app performs against them.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from harness.pytest_plugin import IsolatedDatabase


def test_app_writes_and_reads_through_postgres(harness_database: IsolatedDatabase) -> None:
    with harness_database.connect() as conn:
        conn.execute("CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO items (name) VALUES ('first'), ('second')")
        names = [row[0] for row in conn.execute("SELECT name FROM items ORDER BY id")]
    assert names == ["first", "second"]


def test_cached_read_through_redis(harness_redis_db: redis.Redis) -> None:
    assert harness_redis_db.get("item:1") is None  # a cold cache misses
    harness_redis_db.set("item:1", json.dumps({"name": "first"}), ex=60)
    assert json.loads(harness_redis_db.get("item:1") or b"{}") == {"name": "first"}
    assert 0 < harness_redis_db.ttl("item:1") <= 60


def test_upload_is_encrypted_with_the_kms_key(harness_aws: Any, harness_bucket: str) -> None:
    kms = harness_aws.client("kms")
    key_id = kms.create_key(Description="uploads")["KeyMetadata"]["KeyId"]
    s3 = harness_aws.client("s3")
    s3.put_object(
        Bucket=harness_bucket,
        Key="uploads/a.txt",
        Body=b"hello",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=key_id,
    )
    got = s3.get_object(Bucket=harness_bucket, Key="uploads/a.txt")
    assert got["Body"].read() == b"hello"
    assert got["ServerSideEncryption"] == "aws:kms"
    assert key_id in got["SSEKMSKeyId"]


def test_database_password_comes_from_secrets_manager(harness_aws: Any) -> None:
    secrets = harness_aws.client("secretsmanager")
    name = f"staging/db-password-{id(secrets)}"
    secrets.create_secret(Name=name, SecretString=json.dumps({"password": "s3cret"}))
    value = json.loads(secrets.get_secret_value(SecretId=name)["SecretString"])
    assert value == {"password": "s3cret"}
