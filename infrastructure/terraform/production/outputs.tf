output "region" {
  description = "AWS region of the environment."
  value       = var.region
}

output "eks_cluster_name" {
  description = "Name of the EKS cluster."
  value       = aws_eks_cluster.main.name
}

output "eks_cluster_endpoint" {
  description = "API server endpoint of the EKS cluster."
  value       = aws_eks_cluster.main.endpoint
}

output "db_host" {
  description = "Endpoint of the PostgreSQL primary (ConfigMap DB_HOST)."
  value       = aws_db_instance.main.address
}

output "db_read_host" {
  description = "Endpoint of the PostgreSQL read replica (ConfigMap DB_READ_HOST)."
  value       = aws_db_instance.replica.address
}

output "db_port" {
  description = "Port of both PostgreSQL endpoints."
  value       = aws_db_instance.main.port
}

output "db_password_secret_arn" {
  description = "Secrets Manager secret holding the database password."
  value       = aws_secretsmanager_secret.db_password.arn
}

output "jwt_secret_arn" {
  description = "Secrets Manager secret holding the JWT signing key."
  value       = aws_secretsmanager_secret.jwt.arn
}

output "redis_url" {
  description = "Redis URL of the cache cluster's configuration endpoint (ConfigMap REDIS_URL)."
  value       = "rediss://${aws_elasticache_replication_group.main.configuration_endpoint_address}:6379"
}

output "uploads_bucket" {
  description = "Bucket of user uploads (ConfigMap S3_BUCKET)."
  value       = aws_s3_bucket.uploads.bucket
}

output "backups_bucket" {
  description = "Bucket of database backups."
  value       = aws_s3_bucket.backups.bucket
}

output "data_kms_key_id" {
  description = "KMS key of uploads, backups and secrets (ConfigMap KMS_KEY_ID)."
  value       = aws_kms_key.data.key_id
}
