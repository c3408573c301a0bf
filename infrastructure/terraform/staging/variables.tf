variable "environment" {
  description = "Environment name; prefixes every resource name."
  type        = string
  default     = "staging"
}

variable "region" {
  description = "AWS region of the environment."
  type        = string
  default     = "eu-central-1"
}

variable "vpc_cidr" {
  description = "CIDR block of the environment's VPC."
  type        = string
  default     = "10.20.0.0/16"
}

variable "kubernetes_version" {
  description = "EKS control plane version."
  type        = string
  default     = "1.31"
}

variable "node_instance_type" {
  description = "Instance type of the EKS managed node group."
  type        = string
  default     = "t3.large"
}

variable "node_count" {
  description = "Desired number of nodes in the managed node group."
  type        = number
  default     = 2
}

variable "db_instance_class" {
  description = "Instance class of the PostgreSQL primary and its read replica."
  type        = string
  default     = "db.t4g.medium"
}

variable "db_name" {
  description = "Database the application connects to."
  type        = string
  default     = "aicode"
}

variable "db_username" {
  description = "Master user of the PostgreSQL instance."
  type        = string
  default     = "aicode"
}

variable "redis_node_type" {
  description = "Node type of the ElastiCache Redis replication group."
  type        = string
  default     = "cache.t4g.small"
}

variable "log_level" {
  description = "Log level of the application, published in SSM."
  type        = string
  default     = "debug"
}
